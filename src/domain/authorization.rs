//! Authorizations and their details, and the validation of a new request.

use jiff::{SignedDuration, Timestamp};

use super::audit::Actor;
use super::catalog::{self, CONTENT_TYPES, RESOURCE_TYPES, VISIT_TYPES};
use super::ids::{AuthorizationId, DetailId};
use super::session::Access;
use super::status::Status;
use super::time::parse_rfc3339;
use super::validation::{Rule, ValidationError, int_range, optional_text, required_text, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailType {
    Console = 0,
    Host = 1,
}

impl DetailType {
    pub fn from_code(code: i64) -> Option<DetailType> {
        match code {
            0 => Some(DetailType::Console),
            1 => Some(DetailType::Host),
            _ => None,
        }
    }

    pub fn code(self) -> i32 {
        self as i32
    }
}

/// One console or host an authorization covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    pub id: DetailId,
    pub detail_type: DetailType,
    pub instance_id: String,
    pub instance_name: String,
    pub region_id: String,
    /// Provider-only: where the host is reached.
    pub host: Option<String>,
    pub requested_port: Option<u16>,
    /// Set on confirm.
    pub granted_port: Option<u16>,
    pub account: Option<String>,
    /// Whether an encrypted host password is currently stored (never the password).
    pub has_credential: bool,
    pub host_key_fingerprint: Option<String>,
}

impl Detail {
    /// The port shown to clients: the granted one once confirmed, else the requested one.
    pub fn port(&self) -> Option<u16> {
        self.granted_port.or(self.requested_port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub id: AuthorizationId,
    pub customer_id: String,
    pub x_customer_id: String,
    pub xcustomer_name: String,
    pub incident_id: String,
    pub simple_description: String,
    pub auth_describe: String,
    pub resource_type_id: String,
    pub visit_type_id: String,
    pub content_type_id: String,
    pub content_of_auth_letter: String,
    pub status: Status,
    pub site: i32,
    pub created_at: Timestamp,
    /// A pending request expires at this instant.
    pub pending_deadline: Timestamp,
    pub requested_effective_at: Option<Timestamp>,
    pub requested_expire_at: Option<Timestamp>,
    pub effective_at: Option<Timestamp>,
    pub expire_at: Option<Timestamp>,
    pub reject_reason: Option<String>,
    /// The customer user who confirmed, rejected or canceled.
    pub handler_name: Option<String>,
    pub agency_id: Option<String>,
    pub raised_by: String,
    pub raised_by_name: String,
    pub updated_at: Timestamp,
    /// Empty in list results, which never show details.
    pub details: Vec<Detail>,
}

impl Authorization {
    /// The window shown to clients: the granted one, or while pending the requested one.
    pub fn shown_window(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        match self.status {
            Status::Pending => (self.requested_effective_at, self.requested_expire_at),
            _ => (self.effective_at, self.expire_at),
        }
    }

    /// Sessions may be opened only while authorized and inside the window.
    pub fn allows_access_at(&self, now: Timestamp) -> bool {
        self.access().allows_access_at(now)
    }

    pub fn access(&self) -> Access {
        Access {
            status: self.status,
            effective_at: self.effective_at,
            expire_at: self.expire_at,
        }
    }
}

/// An engineer's request as received (all members optional until validated).
#[derive(Debug, Clone, Default)]
pub struct RaiseInput {
    pub customer_id: Option<String>,
    pub x_customer_id: Option<String>,
    pub incident_id: Option<String>,
    pub simple_description: Option<String>,
    pub auth_describe: Option<String>,
    pub resource_type_id: Option<String>,
    pub visit_type_id: Option<String>,
    pub content_type_id: Option<String>,
    pub content_of_auth_letter: Option<String>,
    pub requested_effective_time: Option<String>,
    pub requested_expire_time: Option<String>,
    pub details: Option<Vec<DetailInput>>,
}

#[derive(Debug, Clone, Default)]
pub struct DetailInput {
    pub detail_type: Option<i64>,
    pub instance_id: Option<String>,
    pub instance_name: Option<String>,
    pub region_id: Option<String>,
    pub host: Option<String>,
    pub port: Option<i64>,
}

/// A validated request, ready to be stored once its submitter is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuthorization {
    pub customer_id: String,
    pub x_customer_id: String,
    pub incident_id: String,
    pub simple_description: String,
    pub auth_describe: String,
    pub resource_type_id: String,
    pub visit_type_id: String,
    pub content_type_id: String,
    pub content_of_auth_letter: String,
    pub requested_effective_at: Option<Timestamp>,
    pub requested_expire_at: Option<Timestamp>,
    pub details: Vec<NewDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDetail {
    pub detail_type: DetailType,
    pub instance_id: String,
    pub instance_name: String,
    pub region_id: String,
    pub host: Option<String>,
    pub port: Option<u16>,
}

fn catalog_id(
    field: &str,
    table: &'static [catalog::CatalogEntry],
    value: Option<&str>,
) -> Result<String, ValidationError> {
    let id = required_text(field, value, 1, 32)?;
    catalog::lookup(table, id)
        .map(|e| e.id.to_string())
        .ok_or_else(|| ValidationError::new(field, Rule::UnknownId))
}

impl RaiseInput {
    pub fn validate(&self) -> Result<NewAuthorization, ValidationError> {
        let details = self
            .details
            .as_deref()
            .ok_or_else(|| ValidationError::new("details", Rule::Required))?;
        if details.is_empty() || details.len() > 6 {
            return Err(ValidationError::new(
                "details",
                Rule::Items { min: 1, max: 6 },
            ));
        }
        let details = details
            .iter()
            .enumerate()
            .map(|(i, d)| d.validate(i))
            .collect::<Result<Vec<_>, _>>()?;
        let requested_effective_at = self
            .requested_effective_time
            .as_deref()
            .map(|v| parse_rfc3339("requested_effective_time", v))
            .transpose()?;
        let requested_expire_at = self
            .requested_expire_time
            .as_deref()
            .map(|v| parse_rfc3339("requested_expire_time", v))
            .transpose()?;
        if let (Some(from), Some(to)) = (requested_effective_at, requested_expire_at)
            && to <= from
        {
            return Err(ValidationError::new(
                "requested_expire_time",
                Rule::ExpireNotAfterEffective,
            ));
        }
        optional_text(
            "content_of_auth_letter",
            self.content_of_auth_letter.as_deref(),
            0,
            20_000,
        )?;
        Ok(NewAuthorization {
            customer_id: required_text("customer_id", self.customer_id.as_deref(), 1, 64)?.into(),
            x_customer_id: required_text("x_customer_id", self.x_customer_id.as_deref(), 1, 64)?
                .into(),
            incident_id: required_text("incident_id", self.incident_id.as_deref(), 1, 64)?.into(),
            simple_description: required_text(
                "simple_description",
                self.simple_description.as_deref(),
                1,
                2000,
            )?
            .into(),
            auth_describe: required_text("auth_describe", self.auth_describe.as_deref(), 1, 2000)?
                .into(),
            resource_type_id: catalog_id(
                "resource_type_id",
                RESOURCE_TYPES,
                self.resource_type_id.as_deref(),
            )?,
            visit_type_id: catalog_id("visit_type_id", VISIT_TYPES, self.visit_type_id.as_deref())?,
            content_type_id: catalog_id(
                "content_type_id",
                CONTENT_TYPES,
                self.content_type_id.as_deref(),
            )?,
            content_of_auth_letter: self.content_of_auth_letter.clone().unwrap_or_default(),
            requested_effective_at,
            requested_expire_at,
            details,
        })
    }
}

impl DetailInput {
    fn validate(&self, index: usize) -> Result<NewDetail, ValidationError> {
        let field = |name: &str| format!("details[{index}].{name}");
        let code = self
            .detail_type
            .ok_or_else(|| ValidationError::new(field("type"), Rule::Required))?;
        let detail_type = DetailType::from_code(code)
            .ok_or_else(|| ValidationError::new(field("type"), Rule::Range { min: 0, max: 1 }))?;
        let instance_id = required_text(&field("instance_id"), self.instance_id.as_deref(), 1, 64)?;
        optional_text(
            &field("instance_name"),
            self.instance_name.as_deref(),
            0,
            128,
        )?;
        optional_text(&field("region_id"), self.region_id.as_deref(), 0, 64)?;
        let (host, port) = match detail_type {
            DetailType::Console => (None, None),
            DetailType::Host => {
                let host = self
                    .host
                    .as_deref()
                    .ok_or_else(|| ValidationError::new(field("host"), Rule::HostRequired))?;
                validate_host(&field("host"), host)?;
                let port = int_range(&field("port"), self.port.unwrap_or(22), 1, 65535)? as u16;
                (Some(host.to_string()), Some(port))
            }
        };
        Ok(NewDetail {
            detail_type,
            instance_id: instance_id.into(),
            instance_name: self.instance_name.clone().unwrap_or_default(),
            region_id: self.region_id.clone().unwrap_or_default(),
            host,
            port,
        })
    }
}

/// An IP address or an RFC 1123 host name.
pub fn validate_host(field: &str, host: &str) -> Result<(), ValidationError> {
    text(field, host, 1, 253)?;
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.trim_end_matches('.').split('.').all(label_ok) {
        Ok(())
    } else {
        Err(ValidationError::new(field, Rule::InvalidHost))
    }
}

impl NewAuthorization {
    /// The stored authorization, pending until `now + pending_ttl`.
    #[allow(clippy::too_many_arguments)]
    pub fn into_authorization(
        self,
        id: AuthorizationId,
        detail_ids: &[DetailId],
        xcustomer_name: String,
        raised_by: Actor,
        site: i32,
        now: Timestamp,
        pending_ttl: SignedDuration,
    ) -> Authorization {
        let details = self
            .details
            .into_iter()
            .zip(detail_ids)
            .map(|(d, id)| Detail {
                id: *id,
                detail_type: d.detail_type,
                instance_id: d.instance_id,
                instance_name: d.instance_name,
                region_id: d.region_id,
                host: d.host,
                requested_port: d.port,
                granted_port: None,
                account: None,
                has_credential: false,
                host_key_fingerprint: None,
            })
            .collect();
        Authorization {
            id,
            customer_id: self.customer_id,
            x_customer_id: self.x_customer_id,
            xcustomer_name,
            incident_id: self.incident_id,
            simple_description: self.simple_description,
            auth_describe: self.auth_describe,
            resource_type_id: self.resource_type_id,
            visit_type_id: self.visit_type_id,
            content_type_id: self.content_type_id,
            content_of_auth_letter: self.content_of_auth_letter,
            status: Status::Pending,
            site,
            created_at: now,
            pending_deadline: now.saturating_add(pending_ttl).unwrap_or(now),
            requested_effective_at: self.requested_effective_at,
            requested_expire_at: self.requested_expire_at,
            effective_at: None,
            expire_at: None,
            reject_reason: None,
            handler_name: None,
            agency_id: None,
            raised_by: raised_by.id,
            raised_by_name: raised_by.name,
            updated_at: now,
            details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn valid_input() -> RaiseInput {
        RaiseInput {
            customer_id: Some("d1".into()),
            x_customer_id: Some("u1".into()),
            incident_id: Some("CS2026".into()),
            simple_description: Some("disk full".into()),
            auth_describe: Some("need ssh".into()),
            resource_type_id: Some("1".into()),
            visit_type_id: Some("1".into()),
            content_type_id: Some("1".into()),
            content_of_auth_letter: None,
            requested_effective_time: None,
            requested_expire_time: None,
            details: Some(vec![DetailInput {
                detail_type: Some(1),
                instance_id: Some("i-1".into()),
                host: Some("10.0.0.5".into()),
                ..Default::default()
            }]),
        }
    }

    #[test]
    fn a_valid_request_defaults_the_ssh_port() {
        let new = valid_input().validate().unwrap();
        assert_eq!(new.details[0].port, Some(22));
        assert_eq!(new.content_of_auth_letter, "");
    }

    #[test]
    fn details_are_bounded() {
        let mut input = valid_input();
        input.details = Some(vec![]);
        assert_eq!(
            input.validate().unwrap_err().rule,
            Rule::Items { min: 1, max: 6 }
        );
        let one = valid_input().details.unwrap().remove(0);
        input.details = Some(vec![one.clone(); 7]);
        assert!(input.validate().is_err());
        input.details = Some(vec![one; 6]);
        assert!(input.validate().is_ok());
    }

    #[test]
    fn hosts_need_a_valid_address() {
        let mut input = valid_input();
        input.details.as_mut().unwrap()[0].host = None;
        assert_eq!(input.validate().unwrap_err().rule, Rule::HostRequired);
        for bad in ["bad host", "-x.example", "a..b", ""] {
            input.details.as_mut().unwrap()[0].host = Some(bad.into());
            assert!(input.validate().is_err(), "{bad}");
        }
        for good in ["db-1.internal.example", "::1", "192.168.0.1", "localhost"] {
            input.details.as_mut().unwrap()[0].host = Some(good.into());
            assert!(input.validate().is_ok(), "{good}");
        }
    }

    #[test]
    fn unknown_catalog_ids_and_bad_windows_are_refused() {
        let mut input = valid_input();
        input.visit_type_id = Some("99".into());
        assert_eq!(input.validate().unwrap_err().field, "visit_type_id");
        let mut input = valid_input();
        input.requested_effective_time = Some("2026-01-02T00:00:00Z".into());
        input.requested_expire_time = Some("2026-01-01T00:00:00Z".into());
        assert_eq!(
            input.validate().unwrap_err().rule,
            Rule::ExpireNotAfterEffective
        );
    }

    #[test]
    fn access_only_inside_the_window() {
        let now: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let mut a = valid_input().validate().unwrap().into_authorization(
            AuthorizationId(1),
            &[DetailId(2)],
            "bob".into(),
            crate::domain::Actor::new("e", "eng"),
            0,
            now,
            SignedDuration::from_hours(72),
        );
        assert!(!a.allows_access_at(now));
        a.status = Status::Authorized;
        a.effective_at = Some(now);
        a.expire_at = Some(now + SignedDuration::from_hours(1));
        assert!(a.allows_access_at(now));
        assert!(!a.allows_access_at(now + SignedDuration::from_hours(1)));
        assert_eq!(a.pending_deadline, now + SignedDuration::from_hours(72));
    }
}
