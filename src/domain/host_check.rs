//! CheckHosts (docs/API.md, Customer API): the request's fields, the host key pinning rule, and what each
//! outcome of an SSH login attempt tells the customer.

use super::authorization::{Authorization, DetailType};
use super::ids::DetailId;
use super::locale::Language;
use super::secret::Secret;
use super::validation::{Rule, ValidationError, int_range, required_text, text};

/// The verify-host body as received.
#[derive(Debug, Clone, Default)]
pub struct HostCheckInput {
    pub port: Option<i64>,
    pub account: Option<String>,
    pub password: Option<Secret>,
}

/// Validated credentials to try on the host.
#[derive(Debug, Clone)]
pub struct HostLogin {
    pub port: u16,
    pub account: String,
    pub password: Secret,
}

impl HostCheckInput {
    /// `port` 1..65535, `account` 1..64 and `password` 1..1024 characters, all required.
    pub fn validate(self) -> Result<HostLogin, ValidationError> {
        let port = self
            .port
            .ok_or_else(|| ValidationError::new("port", Rule::Required))?;
        let port = int_range("port", port, 1, 65_535)? as u16;
        let account = required_text("account", self.account.as_deref(), 1, 64)?.to_owned();
        let password = self
            .password
            .ok_or_else(|| ValidationError::new("password", Rule::Required))?;
        text("password", password.expose(), 1, 1024)?;
        Ok(HostLogin {
            port,
            account,
            password,
        })
    }
}

/// The host a check connects to, and the key it must present once one is pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckTarget<'a> {
    pub host: &'a str,
    pub pinned_key: Option<&'a str>,
}

/// Why a visible detail cannot be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCheckable {
    /// A console detail, or a host without an address.
    NotAHost,
    /// The authorization reached a final status: its hosts are no longer the
    /// customer's concern here, and no longer a target this service connects to.
    Ended,
}

/// Where a check of `detail` (a detail of `auth`) connects.
pub fn check_target(
    auth: &Authorization,
    detail: DetailId,
) -> Result<CheckTarget<'_>, NotCheckable> {
    let detail = auth
        .details
        .iter()
        .find(|d| d.id == detail)
        .filter(|d| d.detail_type == DetailType::Host)
        .ok_or(NotCheckable::NotAHost)?;
    let host = detail.host.as_deref().ok_or(NotCheckable::NotAHost)?;
    if auth.status.is_final() {
        return Err(NotCheckable::Ended);
    }
    Ok(CheckTarget {
        host,
        pinned_key: detail.host_key_fingerprint.as_deref(),
    })
}

/// What one login attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCheckOutcome {
    LoginAccepted,
    CredentialsRefused,
    /// No TCP connection: refused, no route, or the name does not resolve.
    Unreachable,
    TimedOut,
    /// Something answered, but no SSH session could be set up with it.
    NotSsh,
    /// An SSH server answered, but offers no key exchange, host-key, cipher or MAC
    /// algorithm that this service accepts.
    NoCommonAlgorithm,
    /// The host does not offer the `password` method.
    NoPasswordAuth,
    /// The host presented another key than the pinned one; the password was not sent.
    HostKeyChanged,
}

/// `error_code` when the host refused the credentials.
pub const CREDENTIALS_REFUSED_CODE: &str = "OSM.01010003";
/// `error_code` when the host could not be verified.
pub const VERIFICATION_FAILED_CODE: &str = "OSM.01010010";

impl HostCheckOutcome {
    /// How the outcome is named in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            HostCheckOutcome::LoginAccepted => "login_accepted",
            HostCheckOutcome::CredentialsRefused => "credentials_refused",
            HostCheckOutcome::Unreachable => "unreachable",
            HostCheckOutcome::TimedOut => "timed_out",
            HostCheckOutcome::NotSsh => "not_ssh",
            HostCheckOutcome::NoCommonAlgorithm => "no_common_algorithm",
            HostCheckOutcome::NoPasswordAuth => "no_password_auth",
            HostCheckOutcome::HostKeyChanged => "host_key_changed",
        }
    }

    /// Every failure to reach an SSH server (refused, silent, not SSH, outside
    /// `target_networks`) gets the one "unreachable" answer, and takes as long as the
    /// slowest of them (the check's timeout), so its timing tells them apart no better.
    pub fn answers_as_unreachable(self) -> bool {
        matches!(
            self,
            HostCheckOutcome::Unreachable | HostCheckOutcome::TimedOut | HostCheckOutcome::NotSsh
        )
    }

    /// The `error_code` of the 200 response; `None` means the login succeeded.
    pub fn error_code(self) -> Option<&'static str> {
        match self {
            HostCheckOutcome::LoginAccepted => None,
            HostCheckOutcome::CredentialsRefused => Some(CREDENTIALS_REFUSED_CODE),
            _ => Some(VERIFICATION_FAILED_CODE),
        }
    }

    /// The `error_msg` of the 200 response; `None` means the login succeeded.
    pub fn message(self, lang: Language) -> Option<&'static str> {
        let (en, zh) = match self {
            HostCheckOutcome::LoginAccepted => return None,
            HostCheckOutcome::CredentialsRefused => {
                ("Account and password not matched.", "账号和密码不匹配。")
            }
            // One answer for every failure to reach an SSH server (refused, silent, not
            // SSH, outside target_networks): CheckHosts must not map networks.
            HostCheckOutcome::Unreachable
            | HostCheckOutcome::TimedOut
            | HostCheckOutcome::NotSsh => (
                "Host verification failed: no SSH service could be reached at this address and port.",
                "主机验证失败：无法连接到该地址和端口上的 SSH 服务。",
            ),
            HostCheckOutcome::NoCommonAlgorithm => (
                "Host verification failed: the SSH service supports no algorithm in common with this service.",
                "主机验证失败：该 SSH 服务与本服务没有共同支持的算法。",
            ),
            HostCheckOutcome::NoPasswordAuth => (
                "Host verification failed: the host does not accept password login.",
                "主机验证失败：主机不支持密码登录。",
            ),
            HostCheckOutcome::HostKeyChanged => (
                "Host verification failed: the host key changed.",
                "主机验证失败：主机密钥已变更。",
            ),
        };
        Some(lang.pick(en, zh))
    }
}

/// Whether a host presenting the key `seen` may be sent the password: any key while
/// none is pinned (trust on first use), afterwards only the pinned one.
pub fn host_key_trusted(pinned: Option<&str>, seen: &str) -> bool {
    pinned.is_none_or(|p| p == seen)
}

/// The fingerprint to pin after a check: the first accepted login pins the key it saw.
pub fn key_to_pin(
    pinned: Option<&str>,
    outcome: HostCheckOutcome,
    seen: Option<&str>,
) -> Option<String> {
    match (pinned, outcome, seen) {
        (None, HostCheckOutcome::LoginAccepted, Some(seen)) => Some(seen.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::authorization::{DetailInput, RaiseInput};
    use crate::domain::{AuthorizationId, Status};
    use HostCheckOutcome::*;
    use jiff::{SignedDuration, Timestamp};

    /// An authorization with a console (detail 10) and a host (detail 11).
    fn console_and_host() -> Authorization {
        let detail = |code, host: Option<&str>| DetailInput {
            detail_type: Some(code),
            instance_id: Some("i".into()),
            host: host.map(str::to_owned),
            ..Default::default()
        };
        let input = RaiseInput {
            customer_id: Some("d".into()),
            x_customer_id: Some("u".into()),
            incident_id: Some("CS1".into()),
            simple_description: Some("s".into()),
            auth_describe: Some("a".into()),
            resource_type_id: Some("1".into()),
            visit_type_id: Some("1".into()),
            content_type_id: Some("1".into()),
            details: Some(vec![detail(0, None), detail(1, Some("10.0.0.5"))]),
            ..Default::default()
        };
        input.validate().unwrap().into_authorization(
            AuthorizationId(1),
            &[DetailId(10), DetailId(11)],
            "u".into(),
            crate::domain::Actor::new("e", "e"),
            0,
            Timestamp::UNIX_EPOCH,
            SignedDuration::from_hours(72),
        )
    }

    #[test]
    fn the_outcomes_padded_to_the_timeout_are_those_answered_as_unreachable() {
        let all = [
            LoginAccepted,
            CredentialsRefused,
            Unreachable,
            TimedOut,
            NotSsh,
            NoCommonAlgorithm,
            NoPasswordAuth,
            HostKeyChanged,
        ];
        let unreachable = Unreachable.message(Language::En);
        for o in all {
            assert_eq!(
                o.answers_as_unreachable(),
                o.message(Language::En) == unreachable,
                "{o:?}"
            );
        }
    }

    #[test]
    fn only_hosts_of_live_authorizations_are_checked() {
        let mut auth = console_and_host();
        assert_eq!(
            check_target(&auth, DetailId(10)),
            Err(NotCheckable::NotAHost)
        );
        let target = check_target(&auth, DetailId(11)).unwrap();
        assert_eq!((target.host, target.pinned_key), ("10.0.0.5", None));
        auth.details[1].host_key_fingerprint = Some("SHA256:a".into());
        assert_eq!(
            check_target(&auth, DetailId(11)).unwrap().pinned_key,
            Some("SHA256:a")
        );
        auth.status = Status::Authorized;
        assert!(check_target(&auth, DetailId(11)).is_ok());
        for ended in [
            Status::Rejected,
            Status::Expired,
            Status::Recalled,
            Status::Canceled,
        ] {
            auth.status = ended;
            assert_eq!(check_target(&auth, DetailId(11)), Err(NotCheckable::Ended));
        }
    }

    fn input(port: Option<i64>, account: Option<&str>, password: Option<&str>) -> HostCheckInput {
        HostCheckInput {
            port,
            account: account.map(str::to_owned),
            password: password.map(|p| Secret::new(p.to_owned())),
        }
    }

    #[test]
    fn every_field_is_required_and_bounded() {
        let ok = input(Some(22), Some("root"), Some("pw"))
            .validate()
            .unwrap();
        assert_eq!((ok.port, ok.account.as_str()), (22, "root"));
        let cases = [
            (
                input(None, Some("root"), Some("pw")),
                "port",
                Rule::Required,
            ),
            (
                input(Some(0), Some("root"), Some("pw")),
                "port",
                Rule::Range {
                    min: 1,
                    max: 65_535,
                },
            ),
            (
                input(Some(65_536), Some("root"), Some("pw")),
                "port",
                Rule::Range {
                    min: 1,
                    max: 65_535,
                },
            ),
            (input(Some(22), None, Some("pw")), "account", Rule::Required),
            (
                input(Some(22), Some(&"a".repeat(65)), Some("pw")),
                "account",
                Rule::Length { min: 1, max: 64 },
            ),
            (
                input(Some(22), Some("root"), None),
                "password",
                Rule::Required,
            ),
            (
                input(Some(22), Some("root"), Some("")),
                "password",
                Rule::Length { min: 1, max: 1024 },
            ),
            (
                input(Some(22), Some("root"), Some(&"p".repeat(1025))),
                "password",
                Rule::Length { min: 1, max: 1024 },
            ),
        ];
        for (input, field, rule) in cases {
            assert_eq!(
                input.validate().unwrap_err(),
                ValidationError::new(field, rule)
            );
        }
    }

    #[test]
    fn outcomes_map_to_the_spec_codes() {
        assert_eq!(LoginAccepted.error_code(), None);
        assert_eq!(LoginAccepted.message(Language::En), None);
        assert_eq!(CredentialsRefused.error_code(), Some("OSM.01010003"));
        assert_eq!(
            CredentialsRefused.message(Language::En),
            Some("Account and password not matched.")
        );
        for outcome in [
            Unreachable,
            TimedOut,
            NotSsh,
            NoPasswordAuth,
            HostKeyChanged,
        ] {
            assert_eq!(outcome.error_code(), Some("OSM.01010010"), "{outcome:?}");
            let (en, zh) = (outcome.message(Language::En), outcome.message(Language::Zh));
            assert!(en.is_some_and(str::is_ascii) && en != zh, "{outcome:?}");
        }
        assert_eq!(
            Unreachable.message(Language::En),
            TimedOut.message(Language::En)
        );
        assert_eq!(
            Unreachable.message(Language::Zh),
            NotSsh.message(Language::Zh)
        );
        assert_ne!(
            Unreachable.message(Language::En),
            NoPasswordAuth.message(Language::En)
        );
    }

    #[test]
    fn the_pinned_key_alone_is_trusted() {
        assert!(host_key_trusted(None, "SHA256:a"));
        assert!(host_key_trusted(Some("SHA256:a"), "SHA256:a"));
        assert!(!host_key_trusted(Some("SHA256:a"), "SHA256:b"));
    }

    #[test]
    fn only_the_first_accepted_login_pins() {
        let seen = Some("SHA256:a");
        assert_eq!(
            key_to_pin(None, LoginAccepted, seen),
            Some("SHA256:a".into())
        );
        assert_eq!(key_to_pin(Some("SHA256:a"), LoginAccepted, seen), None);
        assert_eq!(key_to_pin(None, CredentialsRefused, seen), None);
        assert_eq!(key_to_pin(None, NoPasswordAuth, seen), None);
        assert_eq!(key_to_pin(None, LoginAccepted, None), None);
    }
}
