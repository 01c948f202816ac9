//! Standard Webhooks signing: `whsec_<base64>` secrets and
//! `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>` signatures.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

const PREFIX: &str = "whsec_";
const SECRET_LEN: usize = 32;

/// A subscription's signing secret. Its text form is shown once, at creation or
/// rotation, and stored only sealed.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl WebhookSecret {
    pub fn generate() -> WebhookSecret {
        let mut key = Zeroizing::new(vec![0u8; SECRET_LEN]);
        rand::fill(&mut key[..]);
        WebhookSecret(key)
    }

    /// `None` unless `text` is `whsec_` followed by base64.
    pub fn parse(text: &str) -> Option<WebhookSecret> {
        let key = STANDARD.decode(text.strip_prefix(PREFIX)?).ok()?;
        (!key.is_empty()).then(|| WebhookSecret(Zeroizing::new(key)))
    }

    /// The `whsec_…` form handed to the subscriber.
    pub fn text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PREFIX}{}", STANDARD.encode(&self.0[..])))
    }

    /// The raw key bytes, for sealing at rest.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn from_bytes(bytes: Vec<u8>) -> WebhookSecret {
        WebhookSecret(Zeroizing::new(bytes))
    }

    /// One `v1,<base64>` signature of a delivery.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one signature per secret in force, space-separated
/// (during a rotation both the new and the old secret sign).
pub fn signature_header(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specifications_example() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_rotation_signs_twice() {
        let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
        let again = WebhookSecret::parse(&old.text()).unwrap();
        assert_eq!(again.bytes(), old.bytes());
        assert!(WebhookSecret::parse("whsec_").is_none());
        assert!(WebhookSecret::parse("sk_abc").is_none());
        let header = signature_header(&[new.clone(), old.clone()], "evt_1", 5, b"{}");
        assert_eq!(
            header.split(' ').collect::<Vec<_>>(),
            [new.sign("evt_1", 5, b"{}"), old.sign("evt_1", 5, b"{}")]
        );
        assert_ne!(new.sign("evt_1", 5, b"{}"), new.sign("evt_2", 5, b"{}"));
        assert!(!format!("{old:?}").contains(&old.text()[6..]));
    }
}
