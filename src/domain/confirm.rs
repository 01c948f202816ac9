//! ConfirmAuthorizations: checking the customer's grant against the authorization.

use jiff::{SignedDuration, Timestamp};

use super::authorization::{Authorization, DetailType};
use super::ids::DetailId;
use super::secret::Secret;
use super::time::timestamp_from_request_millis;
use super::validation::{Rule, ValidationError, int_range, optional_text};

/// The confirm body as received.
#[derive(Debug, Clone, Default)]
pub struct ConfirmInput {
    pub auth_detail_list: Vec<GrantInput>,
    pub auth_effective_time: Option<i64>,
    pub auth_expire_time: Option<i64>,
    pub agency_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GrantInput {
    pub auth_detail_id: Option<i64>,
    pub port: Option<i64>,
    pub account: Option<String>,
    pub password: Option<Secret>,
}

/// Limits that come from configuration and the clock.
#[derive(Debug, Clone, Copy)]
pub struct ConfirmPolicy {
    pub now: Timestamp,
    pub max_window: SignedDuration,
}

/// A validated grant: the window and, per detail, what the engineer may use.
#[derive(Debug, Clone)]
pub struct Grant {
    pub effective_at: Timestamp,
    pub expire_at: Timestamp,
    pub agency_id: Option<String>,
    pub details: Vec<DetailGrant>,
}

#[derive(Debug, Clone)]
pub struct DetailGrant {
    pub detail_id: DetailId,
    pub port: Option<u16>,
    pub account: Option<String>,
    pub password: Option<Secret>,
}

/// The default window when the customer gives no end.
const DEFAULT_WINDOW: SignedDuration = SignedDuration::from_hours(24);

impl ConfirmInput {
    /// Field checks that need nothing but the input.
    pub fn check_fields(&self) -> Result<(), ValidationError> {
        if self.auth_detail_list.len() > 6 {
            return Err(ValidationError::new(
                "auth_detail_list",
                Rule::Items { min: 0, max: 6 },
            ));
        }
        for (i, g) in self.auth_detail_list.iter().enumerate() {
            let field = |name: &str| format!("auth_detail_list[{i}].{name}");
            if g.auth_detail_id.is_none() {
                return Err(ValidationError::new(
                    field("auth_detail_id"),
                    Rule::Required,
                ));
            }
            if let Some(port) = g.port {
                int_range(&field("port"), port, 1, 65535)?;
            }
            optional_text(&field("account"), g.account.as_deref(), 0, 64)?;
            optional_text(
                &field("password"),
                g.password.as_ref().map(Secret::expose),
                0,
                10_240,
            )?;
        }
        optional_text("agency_id", self.agency_id.as_deref(), 0, 64)?;
        Ok(())
    }

    /// Checks the grant against the authorization it confirms.
    pub fn validate(
        &self,
        auth: &Authorization,
        policy: ConfirmPolicy,
    ) -> Result<Grant, ValidationError> {
        self.check_fields()?;
        let (effective_at, expire_at) = self.window(policy)?;
        let mut details = Vec::with_capacity(self.auth_detail_list.len());
        for (i, g) in self.auth_detail_list.iter().enumerate() {
            let id = g.auth_detail_id.unwrap_or_default();
            let field = format!("auth_detail_list[{i}]");
            let detail = auth
                .details
                .iter()
                .find(|d| d.id.0 == id)
                .ok_or_else(|| ValidationError::new(&field, Rule::UnknownDetail(id)))?;
            if details
                .iter()
                .any(|d: &DetailGrant| d.detail_id == detail.id)
            {
                return Err(ValidationError::new(&field, Rule::DuplicateDetail(id)));
            }
            let account = g.account.clone().filter(|a| !a.is_empty());
            let password = g.password.clone().filter(|p| !p.expose().is_empty());
            if detail.detail_type == DetailType::Host && (account.is_none() || password.is_none()) {
                return Err(ValidationError::new(
                    &field,
                    Rule::HostCredentialsRequired(id),
                ));
            }
            details.push(DetailGrant {
                detail_id: detail.id,
                port: g.port.map(|p| p as u16).or(detail.requested_port),
                account,
                password,
            });
        }
        if let Some(missing) = auth.details.iter().find(|d| {
            d.detail_type == DetailType::Host && !details.iter().any(|g| g.detail_id == d.id)
        }) {
            return Err(ValidationError::new(
                "auth_detail_list",
                Rule::HostDetailMissing(missing.id.0),
            ));
        }
        Ok(Grant {
            effective_at,
            expire_at,
            agency_id: self.agency_id.clone().filter(|a| !a.is_empty()),
            details,
        })
    }

    fn window(&self, policy: ConfirmPolicy) -> Result<(Timestamp, Timestamp), ValidationError> {
        let effective_at = match self.auth_effective_time {
            Some(v) => timestamp_from_request_millis("auth_effective_time", v)?,
            None => policy.now,
        };
        let expire_at = match self.auth_expire_time {
            Some(v) => timestamp_from_request_millis("auth_expire_time", v)?,
            None => effective_at
                .checked_add(DEFAULT_WINDOW)
                .map_err(|_| ValidationError::new("auth_effective_time", Rule::InvalidTime))?,
        };
        if expire_at <= effective_at {
            return Err(ValidationError::new(
                "auth_expire_time",
                Rule::ExpireNotAfterEffective,
            ));
        }
        if expire_at <= policy.now {
            return Err(ValidationError::new("auth_expire_time", Rule::ExpireInPast));
        }
        let max_hours = policy.max_window.as_secs() / 3600;
        // A window may not start further ahead than the longest window lasts (no grants
        // for the year 5000).
        if effective_at.duration_since(policy.now) > policy.max_window {
            return Err(ValidationError::new(
                "auth_effective_time",
                Rule::StartTooLate { max_hours },
            ));
        }
        if expire_at.duration_since(effective_at) > policy.max_window {
            return Err(ValidationError::new(
                "auth_expire_time",
                Rule::WindowTooLong { max_hours },
            ));
        }
        Ok((effective_at, expire_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::authorization::{DetailInput, RaiseInput};
    use crate::domain::ids::AuthorizationId;

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    fn policy() -> ConfirmPolicy {
        ConfirmPolicy {
            now: now(),
            max_window: SignedDuration::from_hours(24 * 30),
        }
    }

    /// An authorization with a console detail (id 10) and a host detail (id 11).
    fn auth() -> Authorization {
        let input = RaiseInput {
            customer_id: Some("d".into()),
            x_customer_id: Some("u".into()),
            incident_id: Some("i".into()),
            simple_description: Some("s".into()),
            auth_describe: Some("a".into()),
            resource_type_id: Some("1".into()),
            visit_type_id: Some("1".into()),
            content_type_id: Some("1".into()),
            details: Some(vec![
                DetailInput {
                    detail_type: Some(0),
                    instance_id: Some("c".into()),
                    ..Default::default()
                },
                DetailInput {
                    detail_type: Some(1),
                    instance_id: Some("h".into()),
                    host: Some("h.example".into()),
                    port: Some(2222),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        input.validate().unwrap().into_authorization(
            AuthorizationId(1),
            &[DetailId(10), DetailId(11)],
            "u".into(),
            crate::domain::Actor::new("e", "e"),
            0,
            now(),
            SignedDuration::from_hours(72),
        )
    }

    fn host_grant() -> GrantInput {
        GrantInput {
            auth_detail_id: Some(11),
            port: None,
            account: Some("root".into()),
            password: Some(Secret::new("pw".into())),
        }
    }

    #[test]
    fn defaults_are_now_and_a_day_and_the_requested_port() {
        let input = ConfirmInput {
            auth_detail_list: vec![host_grant()],
            ..Default::default()
        };
        let grant = input.validate(&auth(), policy()).unwrap();
        assert_eq!(grant.effective_at, now());
        assert_eq!(grant.expire_at, now() + SignedDuration::from_hours(24));
        assert_eq!(grant.details[0].port, Some(2222));
    }

    #[test]
    fn every_host_needs_credentials() {
        let input = ConfirmInput::default();
        assert_eq!(
            input.validate(&auth(), policy()).unwrap_err().rule,
            Rule::HostDetailMissing(11)
        );
        let mut g = host_grant();
        g.password = Some(Secret::new(String::new()));
        let input = ConfirmInput {
            auth_detail_list: vec![g],
            ..Default::default()
        };
        assert_eq!(
            input.validate(&auth(), policy()).unwrap_err().rule,
            Rule::HostCredentialsRequired(11)
        );
    }

    #[test]
    fn foreign_and_duplicate_details_are_refused() {
        let mut foreign = host_grant();
        foreign.auth_detail_id = Some(99);
        let input = ConfirmInput {
            auth_detail_list: vec![foreign],
            ..Default::default()
        };
        assert_eq!(
            input.validate(&auth(), policy()).unwrap_err().rule,
            Rule::UnknownDetail(99)
        );
        let input = ConfirmInput {
            auth_detail_list: vec![host_grant(), host_grant()],
            ..Default::default()
        };
        assert_eq!(
            input.validate(&auth(), policy()).unwrap_err().rule,
            Rule::DuplicateDetail(11)
        );
    }

    #[test]
    fn window_rules() {
        let ms = |t: Timestamp| t.as_millisecond();
        let with = |from: Option<i64>, to: Option<i64>| ConfirmInput {
            auth_detail_list: vec![host_grant()],
            auth_effective_time: from,
            auth_expire_time: to,
            agency_id: None,
        };
        let day = SignedDuration::from_hours(24);
        let cases = [
            (
                with(Some(ms(now())), Some(ms(now()))),
                Some(Rule::ExpireNotAfterEffective),
            ),
            (
                with(Some(ms(now() - day * 2)), Some(ms(now() - day))),
                Some(Rule::ExpireInPast),
            ),
            (with(None, Some(ms(now() + day * 30))), None),
            (
                with(None, Some(ms(now() + day * 30) + 1000)),
                Some(Rule::WindowTooLong { max_hours: 720 }),
            ),
            (
                with(Some(ms(now() + day * 30)), Some(ms(now() + day * 31))),
                None,
            ),
            (
                with(
                    Some(ms(now() + day * 30) + 1000),
                    Some(ms(now() + day * 31)),
                ),
                Some(Rule::StartTooLate { max_hours: 720 }),
            ),
            (
                with(Some(95_617_584_000_000), Some(95_617_670_400_000)),
                Some(Rule::StartTooLate { max_hours: 720 }),
            ),
            // Seconds are accepted too.
            (
                with(Some(now().as_second()), Some((now() + day).as_second())),
                None,
            ),
        ];
        for (input, want) in cases {
            let got = input.validate(&auth(), policy()).err().map(|e| e.rule);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn port_and_lengths_at_their_boundaries() {
        for (port, ok) in [(0, false), (1, true), (65535, true), (65536, false)] {
            let mut g = host_grant();
            g.port = Some(port);
            let input = ConfirmInput {
                auth_detail_list: vec![g],
                ..Default::default()
            };
            assert_eq!(input.validate(&auth(), policy()).is_ok(), ok, "port {port}");
        }
        for (len, ok) in [(64, true), (65, false)] {
            let mut g = host_grant();
            g.account = Some("a".repeat(len));
            let input = ConfirmInput {
                auth_detail_list: vec![g],
                ..Default::default()
            };
            assert_eq!(
                input.validate(&auth(), policy()).is_ok(),
                ok,
                "account {len}"
            );
        }
        for (len, ok) in [(10_240, true), (10_241, false)] {
            let mut g = host_grant();
            g.password = Some(Secret::new("p".repeat(len)));
            let input = ConfirmInput {
                auth_detail_list: vec![g],
                ..Default::default()
            };
            assert_eq!(
                input.validate(&auth(), policy()).is_ok(),
                ok,
                "password {len}"
            );
        }
    }
}
