//! Notification e-mail: a delivery channel of the outbox beside webhooks.
//!
//! Each event is addressed once (its recipients written in one transaction with the
//! "addressed" mark), then every recipient's message is claimed, sent over SMTP and
//! recorded like a webhook delivery: leased, retried with back-off, dead-lettered after
//! the retry period. A crash between sending and recording sends again; the message
//! keeps its `Message-ID`, so mail clients show it once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use maud::html;
use tokio::sync::{oneshot, watch};

use super::webhooks::retry_or_dead;
use super::{App, ServiceError, ServiceResult};
use crate::domain::event::{EventType, OutboxEvent};
use crate::domain::{Authorization, Language, Scope, Status};
use crate::store::{DeliveryOutcome, EmailJob, EmailRecipient, UserRecord};

const LEASE: SignedDuration = SignedDuration::from_secs(60);
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);
const ADDRESS_BATCH: u32 = 100;
const CLAIM_BATCH: u32 = 16;
/// Events older than this when first addressed are not mailed (e-mail was turned on
/// after them, or they waited through an outage longer than any retry).
const TOO_OLD: SignedDuration = SignedDuration::from_hours(24);

/// The SMTP side, and what every message needs.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
    default_language: Language,
}

impl Mailer {
    /// `smtp_url` is `smtp://` or `smtps://`, credentials in it; errors never repeat it.
    pub fn new(
        smtp_url: &str,
        from: &str,
        public_url: &str,
        default_language: Language,
    ) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("smtp_url: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = from.parse().map_err(|e| format!("smtp_from: {e}"))?;
        Ok(Mailer {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
            default_language,
        })
    }
}

/// Who receives an event by e-mail, by kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// Those who may approve (and the submitter): a new request.
    Approvers,
    /// The engineer who raised the request: a decision.
    Engineer,
    /// Both: a reminder.
    Both,
    /// The domain's administrators: a disabled subscription.
    Admins,
}

fn audience(t: EventType) -> Option<Audience> {
    match t {
        EventType::Raised => Some(Audience::Approvers),
        EventType::Confirmed | EventType::Rejected | EventType::Canceled => {
            Some(Audience::Engineer)
        }
        EventType::Expiring => Some(Audience::Both),
        EventType::WebhookDisabled => Some(Audience::Admins),
        _ => None,
    }
}

impl App {
    /// One round of the e-mail channel: addresses new events, then sends what is due.
    /// Returns how many messages it attempted.
    pub async fn email_once(&self, mailer: &Mailer) -> ServiceResult<usize> {
        loop {
            let events = self.store.unemailed_events(ADDRESS_BATCH).await?;
            for event in &events {
                let recipients = self
                    .email_recipients(event, mailer.default_language)
                    .await?;
                self.store
                    .address_email(event.seq, recipients, self.clock.now())
                    .await?;
            }
            if events.len() < ADDRESS_BATCH as usize {
                break;
            }
        }
        let now = self.clock.now();
        let jobs = self
            .store
            .claim_emails(now, now + LEASE, CLAIM_BATCH)
            .await?;
        let sends = jobs.iter().map(|job| self.send_email(mailer, job));
        for r in futures_util::future::join_all(sends).await {
            if let Err(e) = r {
                tracing::warn!(error = %e, "recording an e-mail delivery failed");
            }
        }
        Ok(jobs.len())
    }

    /// The recipients of `event`: enabled users with an address, each once, in their
    /// language (else `default`).
    async fn email_recipients(
        &self,
        event: &OutboxEvent,
        default: Language,
    ) -> ServiceResult<Vec<EmailRecipient>> {
        let d = &event.draft;
        let Some(audience) = audience(d.event_type) else {
            return Ok(Vec::new());
        };
        if self.clock.now() - TOO_OLD > d.at {
            return Ok(Vec::new());
        }
        let mut users: Vec<UserRecord> = Vec::new();
        if audience == Audience::Admins {
            users = self.store.approvers(&d.customer_id, "").await?;
        } else if let Some(id) = d.authorization_id {
            let scope = Scope::Provider { raised_by: None };
            let Some(auth) = self.store.get_authorization(&scope, id).await? else {
                return Ok(Vec::new());
            };
            if matches!(audience, Audience::Approvers | Audience::Both) {
                users = self
                    .store
                    .approvers(&auth.customer_id, &auth.x_customer_id)
                    .await?;
                users.extend(self.store.user_by_id(&auth.x_customer_id).await?);
            }
            if matches!(audience, Audience::Engineer | Audience::Both) {
                users.extend(self.store.user_by_id(&auth.raised_by).await?);
            }
        }
        let unique: BTreeMap<String, EmailRecipient> = users
            .into_iter()
            .filter(|u| u.enabled)
            .filter_map(|u| {
                let address = u.email?;
                Some((
                    u.id.clone(),
                    EmailRecipient {
                        user_id: u.id,
                        address,
                        language: u.language.unwrap_or(default),
                    },
                ))
            })
            .collect();
        Ok(unique.into_values().collect())
    }

    async fn send_email(&self, mailer: &Mailer, job: &EmailJob) -> ServiceResult<()> {
        let result = match self.compose(mailer, job).await {
            Ok(message) => mailer
                .transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| (e.is_permanent(), e.to_string())),
            Err(e) => Err((true, e.to_string())),
        };
        let now = self.clock.now();
        let (outcome, error) = match result {
            Ok(()) => (DeliveryOutcome::Delivered, None),
            // A refusal the server says is final (a bad address) is not retried.
            Err((true, e)) => (DeliveryOutcome::Dead, Some(e)),
            Err((false, e)) => (
                retry_or_dead(job.attempts, job.event.draft.at, now),
                Some(e),
            ),
        };
        self.store
            .finish_email(job.event.seq, &job.recipient.user_id, outcome, error, now)
            .await?;
        Ok(())
    }

    async fn compose(&self, mailer: &Mailer, job: &EmailJob) -> ServiceResult<Message> {
        let d = &job.event.draft;
        let auth = match d.authorization_id {
            Some(id) => {
                let scope = Scope::Provider { raised_by: None };
                self.store.get_authorization(&scope, id).await?
            }
            None => None,
        };
        let notice = Notice::of(
            &job.event,
            auth.as_ref(),
            &job.recipient,
            &mailer.public_url,
        )
        .ok_or_else(|| ServiceError::broken("nothing to say about this event"))?;
        let (subject, text, html) = notice.render(job.recipient.language);
        let to: Mailbox = job
            .recipient
            .address
            .parse()
            .map_err(|e| ServiceError::internal("recipient address", e))?;
        let host = reqwest::Url::parse(&mailer.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into());
        Message::builder()
            .from(mailer.from.clone())
            .to(to)
            .subject(subject)
            .date_now()
            .message_id(Some(format!(
                "<{}.{}@{host}>",
                job.event.event_id(),
                job.recipient.user_id
            )))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| ServiceError::internal("composing e-mail", e))
    }
}

/// What one message says: facts the recipient may see, and where to look.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    kind: NoticeKind,
    incident_id: String,
    /// The instant the message is about (a deadline, a window's end).
    until: Option<Timestamp>,
    link: String,
}

#[derive(Debug, Clone, PartialEq)]
enum NoticeKind {
    Raised,
    Approved,
    Rejected,
    Revoked,
    PendingReminder,
    WindowReminder,
    WebhookDisabled { webhook_id: String },
}

impl Notice {
    /// The notice of `event` for `to`; `None` for an event that is not mailed.
    pub fn of(
        event: &OutboxEvent,
        auth: Option<&Authorization>,
        to: &EmailRecipient,
        public_url: &str,
    ) -> Option<Notice> {
        let d = &event.draft;
        if d.event_type == EventType::WebhookDisabled {
            return Some(Notice {
                kind: NoticeKind::WebhookDisabled {
                    webhook_id: d.webhook_id.clone().unwrap_or_default(),
                },
                incident_id: String::new(),
                until: None,
                link: format!("{public_url}/console/"),
            });
        }
        let auth = auth?;
        let (kind, until) = match (d.event_type, d.status) {
            (EventType::Raised, _) => (NoticeKind::Raised, Some(auth.pending_deadline)),
            (EventType::Confirmed, _) => (NoticeKind::Approved, auth.expire_at),
            (EventType::Rejected, _) => (NoticeKind::Rejected, None),
            (EventType::Canceled, _) => (NoticeKind::Revoked, None),
            (EventType::Expiring, Some(Status::Pending)) => {
                (NoticeKind::PendingReminder, Some(auth.pending_deadline))
            }
            (EventType::Expiring, _) => (NoticeKind::WindowReminder, auth.expire_at),
            _ => return None,
        };
        // The engineer follows requests on their own page; customers on the request's.
        let link = if to.user_id == auth.raised_by {
            format!("{public_url}/console/mine")
        } else {
            format!("{public_url}/console/requests/{}", auth.id.0)
        };
        Some(Notice {
            kind,
            incident_id: auth.incident_id.clone(),
            until,
            link,
        })
    }

    /// Subject, plain text and HTML in `lang`.
    pub fn render(&self, lang: Language) -> (String, String, String) {
        let i = &self.incident_id;
        let until = self
            .until
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let (subject, lines): (String, Vec<String>) = match (&self.kind, lang) {
            (NoticeKind::Raised, Language::En) => (
                format!("Access request for {i} awaits approval"),
                vec![
                    format!("An engineer asks for access for incident {i}."),
                    format!("It expires unanswered at {until}."),
                ],
            ),
            (NoticeKind::Raised, Language::Zh) => (
                format!("工单 {i} 的访问授权请求待审批"),
                vec![
                    format!("工程师申请访问授权，工单 {i}。"),
                    format!("如未处理，将于 {until} 过期。"),
                ],
            ),
            (NoticeKind::Approved, Language::En) => (
                format!("Access for {i} was approved"),
                vec![format!(
                    "Your access request for incident {i} was approved; the window ends at {until}."
                )],
            ),
            (NoticeKind::Approved, Language::Zh) => (
                format!("工单 {i} 的访问授权已批准"),
                vec![format!(
                    "工单 {i} 的访问授权请求已批准，授权于 {until} 结束。"
                )],
            ),
            (NoticeKind::Rejected, Language::En) => (
                format!("Access for {i} was rejected"),
                vec![format!(
                    "Your access request for incident {i} was rejected."
                )],
            ),
            (NoticeKind::Rejected, Language::Zh) => (
                format!("工单 {i} 的访问授权被拒绝"),
                vec![format!("工单 {i} 的访问授权请求被拒绝。")],
            ),
            (NoticeKind::Revoked, Language::En) => (
                format!("Access for {i} was revoked"),
                vec![format!(
                    "The customer revoked your access for incident {i}."
                )],
            ),
            (NoticeKind::Revoked, Language::Zh) => (
                format!("工单 {i} 的访问授权已撤销"),
                vec![format!("客户已撤销工单 {i} 的访问授权。")],
            ),
            (NoticeKind::PendingReminder, Language::En) => (
                format!("Reminder: access request for {i} still awaits approval"),
                vec![format!(
                    "The access request for incident {i} expires unanswered at {until}."
                )],
            ),
            (NoticeKind::PendingReminder, Language::Zh) => (
                format!("提醒：工单 {i} 的访问授权请求仍待审批"),
                vec![format!(
                    "工单 {i} 的访问授权请求如未处理，将于 {until} 过期。"
                )],
            ),
            (NoticeKind::WindowReminder, Language::En) => (
                format!("Reminder: access for {i} ends soon"),
                vec![format!(
                    "The access window for incident {i} ends at {until}."
                )],
            ),
            (NoticeKind::WindowReminder, Language::Zh) => (
                format!("提醒：工单 {i} 的访问授权即将结束"),
                vec![format!("工单 {i} 的访问授权将于 {until} 结束。")],
            ),
            (NoticeKind::WebhookDisabled { webhook_id }, Language::En) => (
                format!("Webhook subscription {webhook_id} was disabled"),
                vec![format!(
                    "Deliveries to webhook subscription {webhook_id} failed for 5 days, so it was disabled."
                )],
            ),
            (NoticeKind::WebhookDisabled { webhook_id }, Language::Zh) => (
                format!("Webhook 订阅 {webhook_id} 已停用"),
                vec![format!(
                    "Webhook 订阅 {webhook_id} 连续 5 天投递失败，已停用。"
                )],
            ),
        };
        let open = lang.pick("Open", "打开");
        let text = format!("{}\n\n{open}: {}\n", lines.join("\n"), self.link);
        let html = html! {
            html lang=(lang.pick("en", "zh-CN")) {
                body {
                    @for line in &lines { p { (line) } }
                    p { a href=(self.link) { (open) } }
                }
            }
        }
        .into_string();
        (format!("[support-access] {subject}"), text, html)
    }
}

/// Mails until `shutdown` turns true: right away while there is work, else every
/// `idle` interval, on a background thread of its own (see `rounds::spawn_background`).
pub fn spawn(
    app: Arc<App>,
    mailer: Mailer,
    idle: Duration,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<oneshot::Receiver<()>> {
    super::rounds::spawn_background("e-mail", move || async move {
        super::rounds::run("e-mail", idle, shutdown, || app.email_once(&mailer)).await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: NoticeKind) -> Notice {
        Notice {
            kind,
            incident_id: "CS-<1>".into(),
            until: Some(Timestamp::from_second(1_800_000_000).unwrap()),
            link: "https://sa.example/console/requests/7".into(),
        }
    }

    #[test]
    fn a_notice_is_rendered_in_either_language_with_its_link_and_escaped() {
        let (subject, text, html) = notice(NoticeKind::Raised).render(Language::En);
        assert_eq!(
            subject,
            "[support-access] Access request for CS-<1> awaits approval"
        );
        assert!(text.contains("2027-01-15 08:00 UTC"), "{text}");
        assert!(text.ends_with("Open: https://sa.example/console/requests/7\n"));
        assert!(
            html.contains("CS-&lt;1&gt;") && !html.contains("CS-<1>"),
            "{html}"
        );
        let (subject, text, _) = notice(NoticeKind::Raised).render(Language::Zh);
        assert!(subject.contains("待审批") && text.contains("打开: https://sa.example"));
    }

    #[test]
    fn decisions_go_to_the_engineer_new_requests_to_approvers_reminders_to_both() {
        assert_eq!(audience(EventType::Raised), Some(Audience::Approvers));
        assert_eq!(audience(EventType::Rejected), Some(Audience::Engineer));
        assert_eq!(audience(EventType::Expiring), Some(Audience::Both));
        assert_eq!(audience(EventType::SessionOpened), None);
    }
}
