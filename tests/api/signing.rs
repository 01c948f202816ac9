//! AK/SK: requests signed the way the official SDKs sign them (`SDK-HMAC-SHA256`).

use std::time::{Duration, Instant};

use jiff::SignedDuration;
use serde_json::{Value, json};
use support_access::auth::sdk_signature::{RawRequest, canonical_request, sign, string_to_sign};
use support_access::service::access_keys::IssuedKey;

use crate::helpers::{Resp, World, password_of};

/// Signs requests as the official SDKs do; `copy` uses it too.
pub(crate) struct Signer<'a> {
    w: &'a World,
    key: &'a IssuedKey,
    pub(crate) domain_id: Option<String>,
    date_offset: SignedDuration,
    pub(crate) secret_override: Option<&'a str>,
    /// The client to send with (another one sends from another source address).
    pub(crate) client: reqwest::Client,
    /// Where to send, if not to `w` (the signature still names `w`'s host, as behind a
    /// load balancer).
    pub(crate) target: Option<String>,
}

impl<'a> Signer<'a> {
    pub(crate) fn new(w: &'a World, key: &'a IssuedKey) -> Self {
        Signer {
            w,
            key,
            domain_id: None,
            date_offset: SignedDuration::ZERO,
            secret_override: None,
            client: w.client.clone(),
            target: None,
        }
    }

    pub(crate) async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
    ) -> Resp {
        let host = self.w.base.trim_start_matches("http://").to_owned();
        let date = (self.w.app.clock.now() + self.date_offset)
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut headers: Vec<(String, String)> = vec![
            ("content-type".into(), "application/json".into()),
            ("host".into(), host),
            ("user-agent".into(), "huaweicloud-usdk-python/3.0".into()),
            ("x-sdk-date".into(), date.clone()),
        ];
        if let Some(d) = &self.domain_id {
            headers.push(("x-domain-id".into(), d.clone()));
        }
        if let Some(t) = &self.key.security_token {
            headers.push(("x-security-token".into(), t.expose().to_owned()));
        }
        let (path, query) = path_and_query
            .split_once('?')
            .map_or((path_and_query, None), |(p, q)| (p, Some(q)));
        let raw_headers: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        let mut names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        let raw = RawRequest {
            method,
            raw_path: path,
            raw_query: query,
            headers: &raw_headers,
            body: body.as_bytes(),
        };
        let canonical = canonical_request(&raw, &names).unwrap();
        let secret = self.secret_override.unwrap_or(self.key.secret_key.expose());
        let signature = hex::encode(sign(secret.as_bytes(), &string_to_sign(&date, &canonical)));
        let authorization = format!(
            "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={signature}",
            self.key.access_key,
            names.join(";")
        );
        let mut req = self
            .client
            .request(
                method.parse().unwrap(),
                format!(
                    "{}{path_and_query}",
                    self.target.as_deref().unwrap_or(&self.w.base)
                ),
            )
            .header("Authorization", authorization)
            .body(body);
        for (n, v) in &headers {
            req = req.header(n.as_str(), v.as_str());
        }
        self.w.send(req).await
    }
}

#[tokio::test]
async fn signed_requests_work_on_both_apis() {
    let w = World::new().await;
    let (id, _) = w.raise("bob").await;
    let bob = w.admin().create_access_key("acme", "bob").await.unwrap();
    let mut s = Signer::new(&w, &bob);
    s.domain_id = Some(w.ids["acme"].clone());
    let list = s
        .send(
            "GET",
            "/v2/servicerequest/authorizations?limit=10&offset=0&status=0",
            None,
        )
        .await;
    assert_eq!(
        (list.status, list.body["count"].as_i64()),
        (200, Some(1)),
        "{}",
        list.raw
    );
    let show = s
        .send(
            "GET",
            &format!("/v2/servicerequest/authorizations/{id}"),
            None,
        )
        .await;
    assert_eq!(show.status, 200);
    let lt = s
        .send("GET", "/v2/servicerequest/authorizations/login-type", None)
        .await;
    assert_eq!(lt.body, json!({"login_type": ""}));
    let reject = s
        .send(
            "PUT",
            &format!("/v2/servicerequest/authorizations/{id}/action?action_id=reject"),
            Some(json!({"reject_reason": "signed no"})),
        )
        .await;
    assert_eq!(reject.status, 200, "{}", reject.raw);
    assert_eq!(w.status(&id).await.code(), 2);

    // Domain discovery, as the SDK does it without a domain id.
    let s = Signer::new(&w, &bob);
    let domains = s.send("GET", "/v3/auth/domains", None).await;
    assert_eq!(
        domains.body,
        json!({"domains": [{"id": w.ids["acme"], "name": "acme"}]})
    );

    // An engineer's key on the provider API, with a signed body.
    let eng = w
        .admin()
        .create_access_key("provider", "eng")
        .await
        .unwrap();
    let s = Signer::new(&w, &eng);
    let body = json!({"customer_id": w.ids["acme"], "x_customer_id": w.ids["bob"], "incident_id": "CS-SIGNED",
        "simple_description": "signed", "auth_describe": "signed", "resource_type_id": "2", "visit_type_id": "4",
        "content_type_id": "1", "details": [{"type": 0, "instance_id": "console"}]});
    let raised = s
        .send("POST", "/provider/v1/authorizations", Some(body))
        .await;
    assert_eq!(raised.status, 201, "{}", raised.raw);
}

#[tokio::test]
async fn bad_signatures_get_one_answer_and_the_reason_goes_to_the_log() {
    let w = World::new().await;
    let bob = w.admin().create_access_key("acme", "bob").await.unwrap();
    let path = "/v2/servicerequest/authorizations";
    let mut answers = Vec::new();

    let mut s = Signer::new(&w, &bob);
    s.secret_override = Some("not-the-secret-key-000000000000000000000");
    answers.push(s.send("GET", path, None).await);

    let mut s = Signer::new(&w, &bob);
    s.date_offset = SignedDuration::from_mins(20);
    answers.push(s.send("GET", path, None).await);

    let unknown = IssuedKey {
        access_key: "UNKNOWNKEY0000000000".into(),
        ..w.admin().create_access_key("acme", "carol").await.unwrap()
    };
    answers.push(Signer::new(&w, &unknown).send("GET", path, None).await);

    let req = w.client.get(format!("{}{path}", w.base)).header(
        "Authorization",
        "SDK-HMAC-SM3 Access=X, SignedHeaders=host, Signature=00",
    );
    answers.push(w.send(req).await);

    for r in &answers {
        assert_eq!((r.status, r.code()), (401, "APIGW.0301"), "{}", r.raw);
        assert_eq!(r.msg(), answers[0].msg(), "one message for every failure");
        assert!(!r.msg().contains("20"), "no server time: {}", r.msg());
    }
    let logs =
        String::from_utf8_lossy(&crate::helpers::captured_logs().lock().unwrap()).into_owned();
    assert!(logs.contains("signature refused"), "the reason is logged");
    assert!(logs.contains("SDK-HMAC-SM3"), "the detail is in the log");

    let mut s = Signer::new(&w, &bob);
    s.domain_id = Some(w.ids["globex"].clone());
    assert_eq!(
        s.send("GET", path, None).await.status,
        401,
        "X-Domain-Id of another domain"
    );

    w.admin()
        .set_access_key_enabled(&bob.access_key, false)
        .await
        .unwrap();
    let r = Signer::new(&w, &bob).send("GET", path, None).await;
    assert_eq!(r.status, 401);
    assert!(r.msg().contains("disabled"), "{}", r.msg());
}

/// Credentials are cached per process; a change made by another process (here plain
/// SQL, as the admin CLI or a second instance would) reaches the cache through the
/// credential epoch within a poll.
#[tokio::test]
async fn a_user_disabled_by_another_process_loses_token_and_keys_within_a_poll() {
    let w = World::new().await;
    let bob = w.admin().create_access_key("acme", "bob").await.unwrap();
    let path = "/v2/servicerequest/authorizations";
    let by_token = || w.call("GET", path, Some(w.token("bob")), None);
    // Both credentials are now resolved, and cached.
    assert_eq!(by_token().await.status, 200);
    assert_eq!(
        Signer::new(&w, &bob).send("GET", path, None).await.status,
        200
    );

    w.execute_behind_the_back("UPDATE users SET enabled = false WHERE name = 'bob'")
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let token = by_token().await.status;
        let signed = Signer::new(&w, &bob).send("GET", path, None).await.status;
        if (token, signed) == (401, 401) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still accepted 5 s later: token {token}, signed {signed}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(by_token().await.status, 401, "and stays refused");
    // Other users' cached credentials keep working after the emptying.
    let alice = w.call("GET", path, Some(w.token("alice")), None).await;
    assert_eq!(alice.status, 200);
}

/// `admin user disable` (through the service, as the CLI calls it): refused at once on
/// this server, token, key and login alike; `enable` restores the key and the login,
/// not the tokens issued before.
#[tokio::test]
async fn a_disabled_user_is_refused_at_once_and_enabled_again() {
    let w = World::new().await;
    let bob = w.admin().create_access_key("acme", "bob").await.unwrap();
    let path = "/v2/servicerequest/authorizations";
    let statuses = || async {
        let token = w.call("GET", path, Some(w.token("bob")), None).await.status;
        let signed = Signer::new(&w, &bob).send("GET", path, None).await.status;
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "bob", "password": password_of("bob"), "domain": {"name": "acme"}}}}}});
        let login = w
            .call("POST", "/v3/auth/tokens", None, Some(body))
            .await
            .status;
        (token, signed, login)
    };
    assert_eq!(statuses().await, (200, 200, 201));
    let disabled = w
        .admin()
        .set_user_enabled("acme", "bob", false)
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(statuses().await, (401, 401, 401), "no waiting for a poll");
    // Others are untouched.
    let alice = w.call("GET", path, Some(w.token("alice")), None).await;
    assert_eq!(alice.status, 200);
    w.admin()
        .set_user_enabled("acme", "bob", true)
        .await
        .unwrap();
    // Finding 5: disabling ended the old token for good; the permanent key and the
    // password work again.
    assert_eq!(statuses().await, (401, 200, 201));
    assert!(
        w.admin()
            .set_user_enabled("acme", "nobody", false)
            .await
            .is_err()
    );
}

/// A key's id travels in clear: junk signatures under it from elsewhere slow down
/// their sender, never the key's owner.
#[tokio::test]
async fn failed_signatures_throttle_their_source_not_the_key() {
    let w = World::new().await;
    let bob = w.admin().create_access_key("acme", "bob").await.unwrap();
    let path = "/v2/servicerequest/authorizations";
    let mut junk = Signer::new(&w, &bob);
    junk.secret_override = Some("wrong-secret");
    junk.client = crate::helpers::client_from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(junk.send("GET", path, None).await.status);
    }
    assert_eq!(
        statuses, [401; 11],
        "ten free failures, the eleventh starts the wait"
    );
    let r = junk.send("GET", path, None).await;
    assert_eq!((r.status, r.code()), (429, "OSM.01010104"), "{}", r.raw);
    assert_eq!(r.retry_after.as_deref(), Some("1"));

    let owner = Signer::new(&w, &bob);
    assert_eq!(
        owner.send("GET", path, None).await.status,
        200,
        "the owner is not locked out"
    );

    // The wait doubles with each failure after it, and ends by itself.
    w.app.clock.advance(SignedDuration::from_secs(1));
    assert_eq!(junk.send("GET", path, None).await.status, 401);
    assert_eq!(junk.send("GET", path, None).await.status, 429);
    w.app.clock.advance(SignedDuration::from_secs(2));
    assert_eq!(junk.send("GET", path, None).await.status, 401);
}

#[tokio::test]
async fn temporary_credentials_are_assumed_and_expire() {
    let w = World::new().await;
    let temp = w
        .admin()
        .create_temporary_access_key("acme", "bob", SignedDuration::from_hours(1))
        .await
        .unwrap();
    let s = Signer::new(&w, &temp);
    let lt = s
        .send("GET", "/v2/servicerequest/authorizations/login-type", None)
        .await;
    assert_eq!(lt.body, json!({"login_type": "ASSUMED"}), "{}", lt.raw);
    w.app.clock.advance(SignedDuration::from_mins(61));
    let r = s
        .send("GET", "/v2/servicerequest/authorizations/login-type", None)
        .await;
    assert_eq!(r.status, 401, "expired");
}
