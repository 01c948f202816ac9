//! Configuration: flags, then `SUPPORT_ACCESS_*` environment variables (both through
//! clap), then an optional TOML file, then defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::time::parse_config_duration;
use crate::store::sqlite::{self, Synchronous};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/support-access.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_SSH_LISTEN: &str = "127.0.0.1:2222";

/// The optional TOML file: every key may be omitted.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub pending_ttl: Option<String>,
    pub max_window: Option<String>,
    pub token_ttl: Option<String>,
    pub sweep_interval: Option<String>,
    pub request_timeout: Option<String>,
    pub body_limit_bytes: Option<usize>,
    pub sqlite_synchronous: Option<String>,
    pub log_format: Option<String>,
    pub check_timeout: Option<String>,
    pub check_max_in_flight: Option<usize>,
    pub check_max_in_flight_per_domain: Option<usize>,
    pub ssh_listen: Option<String>,
    pub ssh_max_sessions_per_engineer: Option<usize>,
    pub ssh_max_sessions_per_authorization: Option<usize>,
    pub ssh_idle_timeout: Option<String>,
    pub ssh_login_grace_time: Option<String>,
}

impl FileSettings {
    pub fn load(path: Option<&Path>) -> Result<FileSettings, String> {
        let Some(path) = path else {
            return Ok(FileSettings::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| format!("invalid configuration file {}: {e}", path.display()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The resolved settings the service runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub master_key_file: PathBuf,
    pub pending_ttl: Duration,
    pub max_window: Duration,
    pub token_ttl: Duration,
    pub sweep_interval: Duration,
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
    pub sqlite_synchronous: Synchronous,
    pub log_format: LogFormat,
    /// CheckHosts: connect plus SSH authentication.
    pub check_timeout: Duration,
    /// CheckHosts running at once, overall and per customer domain.
    pub check_max_in_flight: usize,
    pub check_max_in_flight_per_domain: usize,
    /// The SSH broker's address; `None` (an empty setting) turns the broker off.
    pub ssh_listen: Option<String>,
    pub broker: crate::broker::BrokerConfig,
}

/// Values given as flags or environment variables (clap has already merged those two).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub pending_ttl: Option<String>,
    pub max_window: Option<String>,
    pub token_ttl: Option<String>,
    pub sweep_interval: Option<String>,
    pub request_timeout: Option<String>,
    pub body_limit_bytes: Option<usize>,
    pub sqlite_synchronous: Option<String>,
    pub log_format: Option<String>,
    pub check_timeout: Option<String>,
    pub check_max_in_flight: Option<usize>,
    pub check_max_in_flight_per_domain: Option<usize>,
    pub ssh_listen: Option<String>,
    pub ssh_max_sessions_per_engineer: Option<usize>,
    pub ssh_max_sessions_per_authorization: Option<usize>,
    pub ssh_idle_timeout: Option<String>,
    pub ssh_login_grace_time: Option<String>,
}

fn duration(name: &str, value: Option<String>, default: &str) -> Result<Duration, String> {
    let text = value.unwrap_or_else(|| default.to_string());
    match parse_config_duration(&text) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "{name}: `{text}` is not a duration such as 30s, 15m, 72h or 30d"
        )),
    }
}

fn positive(name: &str, value: Option<usize>, default: usize) -> Result<usize, String> {
    match value.unwrap_or(default) {
        0 => Err(format!("{name}: must be at least 1")),
        n => Ok(n),
    }
}

impl Settings {
    pub fn resolve(flags: Overrides, file: FileSettings) -> Result<Settings, String> {
        let database_url = flags
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let master_key_file = flags
            .master_key_file
            .or(file.master_key_file)
            .unwrap_or_else(|| default_key_file(&database_url));
        let sqlite_synchronous = match flags
            .sqlite_synchronous
            .or(file.sqlite_synchronous)
            .as_deref()
        {
            None | Some("full") | Some("FULL") => Synchronous::Full,
            Some("normal") | Some("NORMAL") => Synchronous::Normal,
            Some(other) => {
                return Err(format!(
                    "sqlite_synchronous: `{other}` is not `full` or `normal`"
                ));
            }
        };
        let log_format = match flags.log_format.or(file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(format!("log_format: `{other}` is not `text` or `json`")),
        };
        let request_timeout = duration(
            "request_timeout",
            flags.request_timeout.or(file.request_timeout),
            "30s",
        )?;
        let check_timeout = duration(
            "check_timeout",
            flags.check_timeout.or(file.check_timeout),
            "5s",
        )?;
        if check_timeout >= request_timeout {
            // The request would be cut off before the check could answer.
            return Err("check_timeout: must be shorter than request_timeout".into());
        }
        let broker = crate::broker::BrokerConfig {
            max_sessions_per_engineer: positive(
                "ssh_max_sessions_per_engineer",
                flags
                    .ssh_max_sessions_per_engineer
                    .or(file.ssh_max_sessions_per_engineer),
                10,
            )?,
            max_sessions_per_authorization: positive(
                "ssh_max_sessions_per_authorization",
                flags
                    .ssh_max_sessions_per_authorization
                    .or(file.ssh_max_sessions_per_authorization),
                10,
            )?,
            idle_timeout: duration(
                "ssh_idle_timeout",
                flags.ssh_idle_timeout.or(file.ssh_idle_timeout),
                "30m",
            )?,
            login_grace_time: duration(
                "ssh_login_grace_time",
                flags.ssh_login_grace_time.or(file.ssh_login_grace_time),
                "30s",
            )?,
            ..Default::default()
        };
        let ssh_listen = flags
            .ssh_listen
            .or(file.ssh_listen)
            .unwrap_or_else(|| DEFAULT_SSH_LISTEN.into());
        Ok(Settings {
            ssh_listen: (!ssh_listen.trim().is_empty()).then_some(ssh_listen),
            broker,
            listen: flags
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.into()),
            database_url,
            master_key_file,
            pending_ttl: duration("pending_ttl", flags.pending_ttl.or(file.pending_ttl), "72h")?,
            max_window: duration("max_window", flags.max_window.or(file.max_window), "30d")?,
            token_ttl: duration("token_ttl", flags.token_ttl.or(file.token_ttl), "24h")?,
            sweep_interval: duration(
                "sweep_interval",
                flags.sweep_interval.or(file.sweep_interval),
                "30s",
            )?,
            request_timeout,
            body_limit_bytes: flags
                .body_limit_bytes
                .or(file.body_limit_bytes)
                .unwrap_or(1024 * 1024),
            sqlite_synchronous,
            log_format,
            check_timeout,
            check_max_in_flight: positive(
                "check_max_in_flight",
                flags.check_max_in_flight.or(file.check_max_in_flight),
                16,
            )?,
            check_max_in_flight_per_domain: positive(
                "check_max_in_flight_per_domain",
                flags
                    .check_max_in_flight_per_domain
                    .or(file.check_max_in_flight_per_domain),
                4,
            )?,
        })
    }
}

/// The database URL fit to print: any password in it replaced by `***`.
pub fn redacted_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!(
                "{}{user}:***@{host}{}",
                &url[..scheme_end],
                &url[authority_end..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Beside the SQLite file, else `./data/master.key`.
fn default_key_file(database_url: &str) -> PathBuf {
    sqlite::path_from_url(database_url)
        .and_then(|p| p.parent().map(|d| d.join("master.key")))
        .filter(|p| p.parent().is_some_and(|d| !d.as_os_str().is_empty()))
        .unwrap_or_else(|| PathBuf::from("./data/master.key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let file = FileSettings {
            listen: Some("0.0.0.0:1".into()),
            pending_ttl: Some("1h".into()),
            ..Default::default()
        };
        let flags = Overrides {
            listen: Some("127.0.0.1:2".into()),
            ..Default::default()
        };
        let s = Settings::resolve(flags, file).unwrap();
        assert_eq!(s.listen, "127.0.0.1:2");
        assert_eq!(s.pending_ttl, Duration::from_secs(3600));
        assert_eq!(s.max_window, Duration::from_secs(30 * 86_400));
        assert_eq!(s.master_key_file, PathBuf::from("./data/master.key"));
        assert_eq!(s.check_timeout, Duration::from_secs(5));
        assert_eq!(
            (s.check_max_in_flight, s.check_max_in_flight_per_domain),
            (16, 4)
        );
    }

    #[test]
    fn the_key_file_sits_beside_the_database() {
        let flags = Overrides {
            database_url: Some("sqlite:///var/lib/sa/db.sqlite".into()),
            ..Default::default()
        };
        let s = Settings::resolve(flags, FileSettings::default()).unwrap();
        assert_eq!(s.master_key_file, PathBuf::from("/var/lib/sa/master.key"));
    }

    #[test]
    fn printed_urls_hide_passwords() {
        assert_eq!(
            redacted_url("postgres://sa:s3cret@db:5432/x?sslmode=disable"),
            "postgres://sa:***@db:5432/x?sslmode=disable"
        );
        assert_eq!(redacted_url("postgres://sa@db/x"), "postgres://sa@db/x");
        assert_eq!(redacted_url("sqlite://./data/a.db"), "sqlite://./data/a.db");
    }

    #[test]
    fn bad_values_are_explained() {
        let flags = Overrides {
            token_ttl: Some("forever".into()),
            ..Default::default()
        };
        assert!(
            Settings::resolve(flags, FileSettings::default())
                .unwrap_err()
                .contains("token_ttl")
        );
        let flags = Overrides {
            check_timeout: Some("1m".into()),
            ..Default::default()
        };
        assert!(
            Settings::resolve(flags, FileSettings::default())
                .unwrap_err()
                .contains("check_timeout")
        );
        let flags = Overrides {
            check_max_in_flight: Some(0),
            ..Default::default()
        };
        assert!(
            Settings::resolve(flags, FileSettings::default())
                .unwrap_err()
                .contains("check_max_in_flight")
        );
        assert!(toml::from_str::<FileSettings>("nonsense = 1").is_err());
    }
}
