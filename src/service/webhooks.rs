//! Webhook subscriptions (customer domains and the provider) and their delivery, per
//! the Standard Webhooks specification.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use super::{App, ServiceError, ServiceResult, new_hex_id};
use crate::crypto::webhook::{WebhookSecret, signature_header};
use crate::domain::audit::{Actor, SYSTEM_ACTOR, SYSTEM_CHAIN};
use crate::domain::event::{EventPattern, OutboxDraft};
use crate::domain::principal::Forbidden;
use crate::domain::time::format_utc;
use crate::domain::{Principal, PrincipalKind, Rule, ValidationError};
use crate::store::{
    AdminChange, DeliveryJob, DeliveryOutcome, DeliveryRecord, FinishedDelivery, PROVIDER_OWNER,
    WebhookRecord,
};

/// How long the previous secret keeps signing after a rotation.
const ROTATION_OVERLAP: SignedDuration = SignedDuration::from_hours(24);
/// Failed deliveries are retried for this long, then dead-lettered.
const RETRY_FOR: SignedDuration = SignedDuration::from_hours(24);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// A claim's lease: longer than an attempt can take, so no other worker retries it
/// while it is in flight; after a crash the delivery is retried once it runs out.
const LEASE: SignedDuration = SignedDuration::from_secs(30);
/// Events fanned out, and deliveries attempted at once, per round. All of a round's
/// attempts run concurrently, so a round ends within the delivery timeout, well inside
/// the lease.
const CLAIM_BATCH: u32 = 128;
/// A round that handled fewer than `CLAIM_BATCH` events and attempts starts the next
/// no sooner than this after its own start: under a trickle of events, rounds (two
/// writer jobs each) carry several deliveries rather than one, for at most this delay.
const ROUND_PACE: Duration = Duration::from_millis(50);
/// A subscription whose deliveries have failed for this long, without a success in
/// between, is disabled.
pub const DISABLE_AFTER: SignedDuration = SignedDuration::from_hours(24 * 5);

/// A subscription as shown to its owner (never its secret).
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
}

impl From<&WebhookRecord> for Webhook {
    fn from(r: &WebhookRecord) -> Self {
        Webhook {
            id: r.id.clone(),
            url: r.url.clone(),
            events: r.events.clone(),
            enabled: r.enabled,
        }
    }
}

/// Whose subscriptions `p` manages: a domain administrator its domain's, a provider
/// administrator the provider's.
pub fn owner_of(p: &Principal, provider: bool) -> Result<String, Forbidden> {
    match (&p.kind, provider) {
        (PrincipalKind::Customer, false) if p.is_domain_admin => Ok(p.domain_id.clone()),
        (PrincipalKind::Customer, false) => Err(Forbidden::NotADomainAdmin),
        (_, true) => p
            .require_provider_admin()
            .map(|()| PROVIDER_OWNER.to_owned()),
        (PrincipalKind::Engineer { .. }, false) => Err(Forbidden::NotADomainAdmin),
    }
}

/// A subscription's non-secret fields, for the audit.
fn webhook_fields(w: &WebhookRecord) -> Value {
    json!({ "id": w.id, "owner": w.owner, "url": w.url, "events": w.events, "enabled": w.enabled })
}

fn valid_url(url: &str) -> Result<(), ValidationError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|_| ValidationError::new("url", Rule::Malformed))?;
    let ok = matches!(parsed.scheme(), "http" | "https")
        && parsed.host_str().is_some()
        && parsed.username().is_empty()
        && url.len() <= 2048;
    ok.then_some(())
        .ok_or_else(|| ValidationError::new("url", Rule::Malformed))
}

fn valid_events(events: Vec<String>) -> Result<Vec<String>, ValidationError> {
    if events.is_empty() || events.len() > 20 {
        return Err(ValidationError::new(
            "events",
            Rule::Items { min: 1, max: 20 },
        ));
    }
    for e in &events {
        if EventPattern::parse(e).is_none() {
            return Err(ValidationError::new("events", Rule::Malformed));
        }
    }
    Ok(events)
}

impl App {
    fn seal_webhook_secret(&self, id: &str, secret: &WebhookSecret) -> Vec<u8> {
        self.secrets.seal(secret.bytes(), &format!("webhook:{id}"))
    }

    fn open_webhook_secret(&self, id: &str, sealed: &[u8]) -> ServiceResult<WebhookSecret> {
        self.secrets
            .open(sealed, &format!("webhook:{id}"))
            .map(|b| WebhookSecret::from_bytes(b.to_vec()))
            .map_err(|e| ServiceError::internal("cannot open the webhook secret", e))
    }

    /// The audit chain of `owner`'s subscriptions: the customer domain's, or the
    /// provider domain's (`system` before the provider has one).
    async fn webhook_chain(&self, owner: &str) -> ServiceResult<String> {
        if owner != PROVIDER_OWNER {
            return Ok(owner.to_owned());
        }
        Ok(self
            .store
            .domain_by_name(super::identity::PROVIDER_DOMAIN)
            .await?
            .map_or_else(|| SYSTEM_CHAIN.to_owned(), |d| d.id))
    }

    /// `owner`'s subscription `id`, as stored.
    async fn webhook_of(&self, owner: &str, id: &str) -> ServiceResult<WebhookRecord> {
        self.store
            .webhooks(owner)
            .await?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or(ServiceError::NotFound)
    }

    /// Creates a subscription, audited as made by `actor`; returns it and its secret
    /// (`whsec_…`), shown this once.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        owner: &str,
        url: &str,
        events: Vec<String>,
    ) -> ServiceResult<(Webhook, String)> {
        valid_url(url)?;
        let events = valid_events(events)?;
        let id = format!("wh_{}", new_hex_id());
        let secret = WebhookSecret::generate();
        let record = WebhookRecord {
            secret_sealed: self.seal_webhook_secret(&id, &secret),
            id,
            owner: owner.to_owned(),
            url: url.to_owned(),
            events,
            previous_secret_sealed: None,
            previous_secret_until: None,
            enabled: true,
            created_at: self.clock.now(),
        };
        let chain = self.webhook_chain(owner).await?;
        let after = webhook_fields(&record);
        self.admin(actor.clone())
            .record(
                &chain,
                AdminChange::CreateWebhook(record.clone()),
                "webhook.created",
                None,
                Some(after),
            )
            .await?;
        Ok((Webhook::from(&record), secret.text().to_string()))
    }

    pub async fn list_webhooks(&self, owner: &str) -> ServiceResult<Vec<Webhook>> {
        let all = self.store.webhooks(owner).await?;
        Ok(all.iter().map(Webhook::from).collect())
    }

    pub async fn delete_webhook(&self, actor: &Actor, owner: &str, id: &str) -> ServiceResult<()> {
        let before = self.webhook_of(owner, id).await?;
        let change = AdminChange::DeleteWebhook {
            owner: owner.to_owned(),
            id: id.to_owned(),
        };
        let chain = self.webhook_chain(owner).await?;
        self.admin(actor.clone())
            .record(
                &chain,
                change,
                "webhook.deleted",
                Some(webhook_fields(&before)),
                None,
            )
            .await
    }

    /// A new secret; the old one keeps signing for a day. Returns the new one; the
    /// audit event records when the old one stops, never a secret.
    pub async fn rotate_webhook_secret(
        &self,
        actor: &Actor,
        owner: &str,
        id: &str,
    ) -> ServiceResult<String> {
        let before = self.webhook_of(owner, id).await?;
        let secret = WebhookSecret::generate();
        let until = self.clock.now() + ROTATION_OVERLAP;
        let change = AdminChange::RotateWebhookSecret {
            owner: owner.to_owned(),
            id: id.to_owned(),
            secret_sealed: self.seal_webhook_secret(id, &secret),
            overlap_until: until,
        };
        let mut after = webhook_fields(&before);
        after["previous_secret_until"] = json!(format_utc(until));
        let chain = self.webhook_chain(owner).await?;
        self.admin(actor.clone())
            .record(
                &chain,
                change,
                "webhook.secret_rotated",
                Some(webhook_fields(&before)),
                Some(after),
            )
            .await?;
        Ok(secret.text().to_string())
    }

    pub async fn webhook_deliveries(
        &self,
        owner: &str,
        id: &str,
    ) -> ServiceResult<Vec<DeliveryRecord>> {
        Ok(self.store.webhook_deliveries(owner, id, 100).await?)
    }

    /// Queues `event_id` (`evt_…`) for delivery again; how many deliveries.
    pub async fn redeliver(&self, event_id: &str) -> ServiceResult<u64> {
        let seq = crate::domain::event::OutboxEvent::seq_of(event_id)
            .ok_or_else(|| ValidationError::new("event-id", Rule::Malformed))?;
        Ok(self.store.redeliver(seq, self.clock.now()).await?)
    }

    /// Whose subscriptions the CLI's `--domain NAME` means (`provider`: the provider's).
    pub async fn webhook_owner_named(&self, domain: &str) -> ServiceResult<String> {
        if domain == PROVIDER_OWNER {
            return Ok(PROVIDER_OWNER.to_owned());
        }
        Ok(self.domain_named(domain).await?.id)
    }

    /// One round of the delivery worker: fans new events out and claims a batch of due
    /// deliveries (at most one per subscription and authorization, so sending them all
    /// at once keeps each one's order), sends them concurrently and records every
    /// outcome in one transaction. Returns how many events and attempts it handled.
    pub async fn deliver_once(&self, delivery: &Delivery) -> ServiceResult<usize> {
        let now = self.clock.now();
        let claim = self
            .store
            .claim_deliveries(now, now + LEASE, CLAIM_BATCH)
            .await?;
        let jobs = &claim.jobs;
        let attempts = jobs.iter().map(|job| self.attempt(delivery, job));
        let mut attempted = Vec::with_capacity(jobs.len());
        let mut finished = Vec::with_capacity(jobs.len());
        for (job, result) in jobs
            .iter()
            .zip(futures_util::future::join_all(attempts).await)
        {
            match result {
                Ok(done) => {
                    attempted.push(job);
                    finished.push(done);
                }
                // Not recorded: the lease runs out and the delivery is retried.
                Err(e) => {
                    tracing::warn!(error = %crate::causes::Causes(&e), "a webhook delivery could not be attempted");
                }
            }
        }
        let handled = claim.dispatched as usize + jobs.len();
        if finished.is_empty() {
            return Ok(handled);
        }
        let now = self.clock.now();
        for failing in self.store.finish_deliveries(finished).await? {
            if failing
                .since
                .is_some_and(|since| now - DISABLE_AFTER >= since)
                && let Some(job) = attempted
                    .iter()
                    .find(|j| j.subscription.id == failing.subscription_id)
            {
                self.disable_failing(&job.subscription, now).await?;
            }
        }
        Ok(handled)
    }

    /// Sends `job` once; its outcome, to record.
    async fn attempt(
        &self,
        delivery: &Delivery,
        job: &DeliveryJob,
    ) -> ServiceResult<FinishedDelivery> {
        let secrets = self.signing_secrets(&job.subscription)?;
        let result = delivery.send(job, &secrets, self.clock.now()).await;
        let now = self.clock.now();
        let (outcome, status, error) = match result {
            Ok(status) if (200..300).contains(&status) => {
                (DeliveryOutcome::Delivered, Some(status), None)
            }
            failed => {
                let (status, error) = match failed {
                    Ok(status) => (Some(status), format!("HTTP {status}")),
                    Err(e) => (None, e),
                };
                (
                    retry_or_dead(job.attempts, job.event.draft.at, now),
                    status,
                    Some(error),
                )
            }
        };
        Ok(FinishedDelivery {
            subscription_id: job.subscription.id.clone(),
            event_id: job.event.seq,
            outcome,
            status,
            error,
            now,
        })
    }

    /// Disables `w`, failing for 5 days, with its `webhook.disabled` event.
    async fn disable_failing(&self, w: &WebhookRecord, now: Timestamp) -> ServiceResult<()> {
        let event = OutboxDraft::webhook_disabled(&w.owner, &w.id, SYSTEM_ACTOR, now);
        if self.store.disable_webhook(&w.id, event, now).await? {
            tracing::warn!(webhook = %w.id, "webhook subscription disabled: failing for 5 days");
        }
        Ok(())
    }

    /// The current secret, and the previous one while its overlap lasts.
    fn signing_secrets(&self, w: &WebhookRecord) -> ServiceResult<Vec<WebhookSecret>> {
        let mut secrets = vec![self.open_webhook_secret(&w.id, &w.secret_sealed)?];
        if let (Some(old), Some(until)) = (&w.previous_secret_sealed, w.previous_secret_until)
            && self.clock.now() < until
        {
            secrets.push(self.open_webhook_secret(&w.id, old)?);
        }
        Ok(secrets)
    }
}

/// After a failed attempt: another at a backed-off time, or dead-lettered once the
/// event is older than the retry period.
pub fn retry_or_dead(attempts_before: u32, event_at: Timestamp, now: Timestamp) -> DeliveryOutcome {
    let next = now + backoff(attempts_before);
    if next > event_at + RETRY_FOR {
        DeliveryOutcome::Dead
    } else {
        DeliveryOutcome::RetryAt(next)
    }
}

/// Exponential back-off with jitter: about 5 s, 10 s, 20 s … capped at an hour.
fn backoff(attempts_before: u32) -> SignedDuration {
    let base = 5_i64.saturating_mul(1 << attempts_before.min(10)).min(3600);
    let jitter = rand::random_range(0..=base / 4);
    SignedDuration::from_secs(base + jitter)
}

/// The thin payload: ids and statuses, never free text or secrets.
pub fn payload(job: &DeliveryJob) -> Value {
    let d = &job.event.draft;
    let mut data = json!({
        "customer_id": d.customer_id,
        "actor_id": d.actor_id,
    });
    if let Some(a) = d.authorization_id {
        data["authorization_id"] = json!(a.0.to_string());
        data["incident_id"] = json!(job.incident_id);
        data["detail_ids"] = json!(job.detail_ids);
    }
    if let Some(s) = d.status {
        data["status"] = json!(s.name(crate::domain::Language::En));
    }
    if let Some(s) = d.session_id {
        data["session_id"] = json!(s.to_string());
    }
    if let Some(reason) = &d.close_reason {
        data["close_reason"] = json!(reason);
    }
    if let Some(sha256) = &d.sha256 {
        data["recording_sha256"] = json!(sha256);
    }
    if let Some(w) = &d.webhook_id {
        data["webhook_id"] = json!(w);
    }
    json!({
        "type": d.event_type.name(),
        "timestamp": d.at.to_string(),
        "data": data,
    })
}

/// Whether a target address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 0
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

/// The HTTP side of delivery: one client for every attempt, so connections and the TLS
/// roots are reused. Its resolver refuses private, loopback and link-local addresses
/// (unless allowed), so the check holds for every connection the client makes, and a
/// name that resolves to a public address now and a private one later gains nothing:
/// the connection goes to the addresses checked. Redirects are not followed.
#[derive(Debug, Clone)]
pub struct Delivery {
    client: reqwest::Client,
    /// Private, loopback and link-local targets allowed (tests, closed networks).
    allow_private: bool,
}

/// Why a target was refused.
fn refusal(host: &str) -> String {
    format!(
        "{host} resolves to a private, loopback or link-local address (refused; see webhook_allow_private)"
    )
}

/// Resolves names for the delivery client, refusing non-public addresses.
#[derive(Debug)]
struct PublicResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: the client puts the URL's port in.
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
                return Err(refusal(&host).into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The address a URL names literally (`http://10.0.0.1/`), which no resolver sees.
fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    // IPv6 literals keep their brackets in the URL's host.
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    unbracketed.parse().ok()
}

impl Delivery {
    pub fn new(allow_private: bool) -> Result<Delivery, reqwest::Error> {
        let client = crate::tls::http_client()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would resolve the target itself, past the
            // resolver's check.
            .no_proxy()
            .dns_resolver(Arc::new(PublicResolver { allow_private }))
            .build()?;
        Ok(Delivery {
            client,
            allow_private,
        })
    }

    /// POSTs `job` signed with `secrets`; the response status, or why none came.
    async fn send(
        &self,
        job: &DeliveryJob,
        secrets: &[WebhookSecret],
        now: Timestamp,
    ) -> Result<u16, String> {
        let url = reqwest::Url::parse(&job.subscription.url).map_err(|e| e.to_string())?;
        if let Some(ip) = literal_ip(&url)
            && !self.allow_private
            && !is_public(ip)
        {
            return Err(refusal(&ip.to_string()));
        }
        let body = payload(job).to_string();
        let id = job.event.event_id();
        let timestamp = now.as_second();
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature_header(secrets, &id, timestamp, body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| crate::causes::Causes(&e).to_string())?;
        Ok(response.status().as_u16())
    }
}

/// Delivers until `shutdown` turns true: right away while there is work, else every
/// `idle` interval (paced, see `ROUND_PACE`), on a background thread of its own (see
/// `rounds::spawn_background`).
pub fn spawn(
    app: Arc<App>,
    delivery: Delivery,
    idle: Duration,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<oneshot::Receiver<()>> {
    super::rounds::spawn_background("webhooks", move || async move {
        super::rounds::run("webhook delivery", idle, shutdown, || async {
            let started = tokio::time::Instant::now();
            let handled = app.deliver_once(&delivery).await?;
            if handled > 0 && handled < CLAIM_BATCH as usize {
                tokio::time::sleep_until(started + ROUND_PACE).await;
            }
            Ok(handled)
        })
        .await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_targets_are_not_public() {
        for ip in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2001:4860:4860::8888", "::ffff:1.1.1.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!((5..=6).contains(&backoff(0).as_secs()));
        assert!((40..=50).contains(&backoff(3).as_secs()));
        assert!(backoff(30).as_secs() <= 4500);
    }

    #[test]
    fn only_http_and_https_urls_and_known_events() {
        assert!(valid_url("https://hooks.example/x").is_ok());
        assert!(valid_url("http://127.0.0.1:9/x").is_ok());
        for bad in [
            "ftp://x/",
            "not a url",
            "http://user:pw@host/",
            "file:///etc/passwd",
        ] {
            assert!(valid_url(bad).is_err(), "{bad}");
        }
        assert!(valid_events(vec!["authorization.*".into()]).is_ok());
        assert!(valid_events(vec![]).is_err());
        assert!(valid_events(vec!["authorization.bogus".into()]).is_err());
    }
}
