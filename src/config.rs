//! Configuration: flags, then `SUPPORT_ACCESS_*` environment variables, then an optional
//! TOML file, then defaults.
//!
//! [`Settings`] is the one declaration of every setting: clap derives its flag and
//! variable from a field, serde its key in the file, and the field's `default_value` is
//! its default. A new setting is one field here plus its line in the README's table.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::domain::Language;
use crate::domain::network_policy::NetworkList;
use crate::store::sqlite::{self, Synchronous};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Every setting the service runs with.
#[derive(Debug, Clone, Args, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "SUPPORT_ACCESS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Serve Prometheus metrics at http://ADDRESS/metrics (off when unset), e.g. 127.0.0.1:9464.
    #[arg(long, env = "SUPPORT_ACCESS_METRICS_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (with tls_key_file); SIGHUP reloads it.
    #[arg(long, env = "SUPPORT_ACCESS_TLS_CERT_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// The PEM private key of tls_cert_file.
    #[arg(long, env = "SUPPORT_ACCESS_TLS_KEY_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        env = "SUPPORT_ACCESS_DATABASE_URL",
        default_value = "sqlite://./data/support-access.db"
    )]
    pub database_url: String,
    /// Master key file [default: master.key beside the SQLite file, else ./data/master.key].
    #[arg(long, env = "SUPPORT_ACCESS_MASTER_KEY_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
    /// How long a request may stay pending.
    #[arg(long, env = "SUPPORT_ACCESS_PENDING_TTL", default_value = "72h", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub pending_ttl: Duration,
    /// The longest authorization window a customer may grant.
    #[arg(long, env = "SUPPORT_ACCESS_MAX_WINDOW", default_value = "30d", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub max_window: Duration,
    /// Token lifetime.
    #[arg(long, env = "SUPPORT_ACCESS_TOKEN_TTL", default_value = "24h", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub token_ttl: Duration,
    /// How long terminal recordings are kept after their session's last output; the
    /// sweeper then drops them (their hashes stay in the audit chain).
    #[arg(long, env = "SUPPORT_ACCESS_RECORDING_RETENTION", default_value = "180d", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub recording_retention: Duration,
    /// How often the expiry sweeper runs.
    #[arg(long, env = "SUPPORT_ACCESS_SWEEP_INTERVAL", default_value = "30s", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub sweep_interval: Duration,
    /// Requests taking longer are answered 503.
    #[arg(long, env = "SUPPORT_ACCESS_REQUEST_TIMEOUT", default_value = "30s", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// The largest request body accepted, in bytes.
    #[arg(
        long,
        env = "SUPPORT_ACCESS_BODY_LIMIT_BYTES",
        default_value = "1048576"
    )]
    pub body_limit_bytes: usize,
    /// SQLite durability: `normal` survives a crash of the process, not of the machine.
    #[arg(
        long,
        env = "SUPPORT_ACCESS_SQLITE_SYNCHRONOUS",
        default_value = "full",
        ignore_case = true
    )]
    pub sqlite_synchronous: Synchronous,
    /// Log format.
    #[arg(long, env = "SUPPORT_ACCESS_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// Log levels, e.g. `info,support_access=debug` (`info` if not understood).
    #[arg(long, env = "SUPPORT_ACCESS_LOG", default_value = "info")]
    pub log: String,
    /// CheckHosts: how long connecting and SSH authentication may take.
    #[arg(long, env = "SUPPORT_ACCESS_CHECK_TIMEOUT", default_value = "5s", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub check_timeout: Duration,
    /// CheckHosts running at once over all domains.
    #[arg(long, env = "SUPPORT_ACCESS_CHECK_MAX_IN_FLIGHT", default_value = "16", value_parser = positive::parse)]
    #[serde(deserialize_with = "positive::deserialize")]
    pub check_max_in_flight: usize,
    /// CheckHosts running at once for one customer domain.
    #[arg(
        long,
        env = "SUPPORT_ACCESS_CHECK_MAX_IN_FLIGHT_PER_DOMAIN",
        default_value = "4",
        value_parser = positive::parse
    )]
    #[serde(deserialize_with = "positive::deserialize")]
    pub check_max_in_flight_per_domain: usize,
    /// SSH broker address; empty turns the broker off.
    #[arg(
        long,
        env = "SUPPORT_ACCESS_SSH_LISTEN",
        default_value = "127.0.0.1:2222"
    )]
    pub ssh_listen: String,
    /// Live SSH broker sessions one engineer may hold at once (per instance).
    #[arg(
        long,
        env = "SUPPORT_ACCESS_SSH_MAX_SESSIONS_PER_ENGINEER",
        default_value = "10",
        value_parser = positive::parse
    )]
    #[serde(deserialize_with = "positive::deserialize")]
    pub ssh_max_sessions_per_engineer: usize,
    /// Live SSH broker sessions on one authorization at once (per instance).
    #[arg(
        long,
        env = "SUPPORT_ACCESS_SSH_MAX_SESSIONS_PER_AUTHORIZATION",
        default_value = "10",
        value_parser = positive::parse
    )]
    #[serde(deserialize_with = "positive::deserialize")]
    pub ssh_max_sessions_per_authorization: usize,
    /// An SSH broker connection without traffic either way for this long is closed.
    #[arg(long, env = "SUPPORT_ACCESS_SSH_IDLE_TIMEOUT", default_value = "30m", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub ssh_idle_timeout: Duration,
    /// From connecting to the SSH broker to a successful login.
    #[arg(long, env = "SUPPORT_ACCESS_SSH_LOGIN_GRACE_TIME", default_value = "30s", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub ssh_login_grace_time: Duration,
    /// Language of answers to requests that name none (neither X-Language nor a
    /// supported Accept-Language): `en-us` or `zh-cn`.
    #[arg(long, env = "SUPPORT_ACCESS_DEFAULT_LANGUAGE", default_value = "en-us", value_parser = language::parse)]
    #[serde(with = "language")]
    pub default_language: Language,
    /// Networks CheckHosts and the SSH broker may connect to, as CIDRs (comma-separated
    /// on the command line, a list in the file) [default: every address except
    /// loopback, link-local, multicast and this host's own].
    #[arg(long, env = "SUPPORT_ACCESS_TARGET_NETWORKS")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_networks: Option<NetworkList>,
    /// How long a client may take to send a request's head; also how long a keep-alive
    /// connection may wait idle for its next request.
    #[arg(long, env = "SUPPORT_ACCESS_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub header_read_timeout: Duration,
    /// Connections served at once; further ones wait to be accepted.
    #[arg(long, env = "SUPPORT_ACCESS_MAX_CONNECTIONS", default_value = "1024", value_parser = positive::parse)]
    #[serde(deserialize_with = "positive::deserialize")]
    pub max_connections: usize,
    /// Mark the web console's cookies `Secure` (set it when browsers reach the service
    /// over TLS, e.g. through a terminating proxy).
    #[arg(
        long,
        env = "SUPPORT_ACCESS_CONSOLE_SECURE_COOKIES",
        default_value = "false",
        action = clap::ArgAction::Set
    )]
    pub console_secure_cookies: bool,
    /// Deliver webhooks to private, loopback and link-local addresses too (checked
    /// after DNS resolution); off by default, so a subscription cannot reach inside.
    #[arg(
        long,
        env = "SUPPORT_ACCESS_WEBHOOK_ALLOW_PRIVATE",
        default_value_t = false
    )]
    #[serde(default)]
    pub webhook_allow_private: bool,
    /// How often the webhook worker looks for new events when it is idle.
    #[arg(long, env = "SUPPORT_ACCESS_WEBHOOK_POLL_INTERVAL", default_value = "1s", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub webhook_poll_interval: Duration,
    /// Where notification e-mail is sent: `smtp://HOST:PORT` (plain, or STARTTLS with
    /// `?tls=required`), `smtps://USER:PASSWORD@HOST:465` (TLS). Unset: no e-mail. The
    /// password is a secret: never logged or shown.
    #[arg(long, env = "SUPPORT_ACCESS_SMTP_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
    /// The From address of notification e-mail, e.g. `Support Access <noreply@example.com>`.
    #[arg(long, env = "SUPPORT_ACCESS_SMTP_FROM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_from: Option<String>,
    /// The address users reach the service at, for links in e-mail
    /// (`{public_url}/console/...`).
    #[arg(
        long,
        env = "SUPPORT_ACCESS_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
    /// Delivered notifications (outbox events, webhook and e-mail deliveries, sent
    /// reminders) older than this are deleted by the sweeper.
    #[arg(long, env = "SUPPORT_ACCESS_OUTBOX_RETENTION", default_value = "30d", value_parser = duration::parse)]
    #[serde(with = "duration")]
    pub outbox_retention: Duration,
}

impl Settings {
    /// The settings from parsed command-line `matches` (flags, variables and defaults)
    /// and the TOML file at `file`, field by field: a value from the file replaces a
    /// field's default, never a flag or a variable.
    pub fn merge(matches: &ArgMatches, file: Option<&Path>) -> Result<Settings, String> {
        let given = Settings::from_arg_matches(matches).map_err(|e| e.to_string())?;
        let Some(path) = file else {
            return given.checked();
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file: toml::Table = toml::from_str(&text)
            .map_err(|e| format!("invalid configuration file {}: {e}", path.display()))?;
        let mut merged = toml::Table::try_from(&given).map_err(|e| e.to_string())?;
        for (key, value) in file {
            if !set_outside_the_file(matches, &key) {
                merged.insert(key, value);
            }
        }
        toml::Value::Table(merged)
            .try_into()
            .map_err(|e| {
                let reason = e.to_string().trim_end().replace('\n', " ");
                format!("invalid configuration file {}: {reason}", path.display())
            })
            .and_then(Settings::checked)
    }

    /// Every setting at its default, whatever the environment says (for tests and tools
    /// that run the service in-process).
    pub fn defaults() -> Settings {
        let command = Settings::augment_args(Command::new("defaults")).mut_args(|a| a.env(None));
        Settings::merge(&command.get_matches_from(["defaults"]), None)
            .expect("the defaults are valid settings")
    }

    /// The master key file: the configured one, else beside the SQLite file, else
    /// `./data/master.key`.
    pub fn master_key_file(&self) -> PathBuf {
        self.master_key_file.clone().unwrap_or_else(|| {
            sqlite::path_from_url(&self.database_url)
                .and_then(|p| p.parent().map(|d| d.join("master.key")))
                .filter(|p| p.parent().is_some_and(|d| !d.as_os_str().is_empty()))
                .unwrap_or_else(|| PathBuf::from("./data/master.key"))
        })
    }

    /// The HTTPS certificate and key, when both are set.
    pub fn tls_files(&self) -> Option<crate::tls::CertificateFiles> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Some(crate::tls::CertificateFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        }
    }

    /// The SSH broker's address, unless it is turned off.
    pub fn ssh_listen(&self) -> Option<&str> {
        Some(self.ssh_listen.trim()).filter(|a| !a.is_empty())
    }

    /// The SSH broker's limits and timeouts.
    pub fn broker(&self) -> crate::broker::BrokerConfig {
        crate::broker::BrokerConfig {
            max_sessions_per_engineer: self.ssh_max_sessions_per_engineer,
            max_sessions_per_authorization: self.ssh_max_sessions_per_authorization,
            idle_timeout: self.ssh_idle_timeout,
            login_grace_time: self.ssh_login_grace_time,
            ..Default::default()
        }
    }

    /// Rules between settings.
    fn checked(self) -> Result<Settings, String> {
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err("tls_cert_file and tls_key_file: set both or neither".into());
        }
        if self.smtp_url.is_some() != self.smtp_from.is_some() {
            return Err("smtp_url and smtp_from: set both or neither".into());
        }
        if let Some(from) = &self.smtp_from
            && from.parse::<lettre::message::Mailbox>().is_err()
        {
            return Err(format!("smtp_from: `{from}` is not an e-mail address"));
        }
        if let Some(url) = &self.smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err(format!(
                "smtp_url: `{}` is not smtp://HOST:PORT or smtps://HOST:PORT",
                redacted_url(url)
            ));
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(format!(
                "public_url: `{}` is not an http:// or https:// address",
                self.public_url
            ));
        }
        if self.check_timeout >= self.request_timeout {
            // The request would be cut off before the check could answer.
            return Err("check_timeout: must be shorter than request_timeout".into());
        }
        Ok(self)
    }
}

/// Whether the setting `key` came from a flag or an environment variable.
fn set_outside_the_file(matches: &ArgMatches, key: &str) -> bool {
    matches.ids().any(|id| id == key)
        && matches!(
            matches.value_source(key),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
}

/// Durations as written in flags and the file: `500ms`, `30s`, `15m`, `72h`, `30d`.
mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::time::parse_config_duration;

    pub fn parse(text: &str) -> Result<Duration, String> {
        match parse_config_duration(text) {
            Some(d) if !d.is_zero() => Ok(d),
            _ => Err(format!(
                "`{text}` is not a duration such as 30s, 15m, 72h or 30d"
            )),
        }
    }

    pub fn serialize<S: Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        if d.subsec_nanos() == 0 {
            serializer.collect_str(&format_args!("{}s", d.as_secs()))
        } else {
            serializer.collect_str(&format_args!("{}ms", d.as_millis()))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Languages as written in flags and the file: `en-us`, `zh-cn`.
mod language {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::Language;

    pub fn parse(text: &str) -> Result<Language, String> {
        Language::from_setting(text)
    }

    pub fn serialize<S: Serializer>(l: &Language, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(l.pick("en-us", "zh-cn"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Language, D::Error> {
        parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Counts that must be at least 1.
mod positive {
    use serde::{Deserialize, Deserializer};

    pub fn parse(text: &str) -> Result<usize, String> {
        match text.parse::<usize>() {
            Ok(0) => Err("must be at least 1".into()),
            Ok(n) => Ok(n),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
        match usize::deserialize(deserializer)? {
            0 => Err(serde::de::Error::custom("must be at least 1")),
            n => Ok(n),
        }
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// The settings from `args` (after the program name) and a file holding `toml`,
    /// with the environment ignored.
    fn settings(args: &[&str], toml: Option<&str>) -> Result<Settings, String> {
        let command = Settings::augment_args(Command::new("t")).mut_args(|a| a.env(None));
        let matches = command
            .try_get_matches_from(std::iter::once("t").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(toml.unwrap_or_default().as_bytes()).unwrap();
        Settings::merge(&matches, toml.map(|_| file.path()))
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let s = settings(
            &["--listen", "127.0.0.1:2"],
            Some("listen = \"0.0.0.0:1\"\npending_ttl = \"1h\"\ncheck_max_in_flight = 3\n"),
        )
        .unwrap();
        assert_eq!(s.listen, "127.0.0.1:2");
        assert_eq!(s.pending_ttl, Duration::from_secs(3600));
        assert_eq!(s.check_max_in_flight, 3);
        assert_eq!(s.max_window, Duration::from_secs(30 * 86_400));
        assert_eq!(s.master_key_file(), PathBuf::from("./data/master.key"));
        assert_eq!(s.check_timeout, Duration::from_secs(5));
        assert_eq!(s.check_max_in_flight_per_domain, 4);
        assert_eq!(s.sqlite_synchronous, Synchronous::Full);
        assert_eq!(s.ssh_listen(), Some("127.0.0.1:2222"));
        assert_eq!(s.broker().idle_timeout, Duration::from_secs(1800));
        let off = settings(&["--ssh-listen", ""], None).unwrap();
        assert_eq!(off.ssh_listen(), None);
        assert_eq!(s.default_language, Language::En);
        let zh = settings(&[], Some("default_language = \"zh-cn\"\n")).unwrap();
        assert_eq!(zh.default_language, Language::Zh);
    }

    #[test]
    fn environment_variables_beat_the_file() {
        // `listen` read from PATH, a variable every test run has; the others ignored.
        let command = Settings::augment_args(Command::new("t"))
            .mut_args(|a| a.env(None))
            .mut_arg("listen", |a| a.env("PATH"));
        let matches = command.get_matches_from(["t"]);
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"listen = \"0.0.0.0:1\"\nsweep_interval = \"500ms\"\n")
            .unwrap();
        let s = Settings::merge(&matches, Some(file.path())).unwrap();
        assert_eq!(s.listen, std::env::var("PATH").unwrap());
        assert_eq!(s.sweep_interval, Duration::from_millis(500));
    }

    #[test]
    fn the_key_file_sits_beside_the_database() {
        let s = settings(&["--database-url", "sqlite:///var/lib/sa/db.sqlite"], None).unwrap();
        assert_eq!(s.master_key_file(), PathBuf::from("/var/lib/sa/master.key"));
        let s = settings(&["--master-key-file", "/k"], None).unwrap();
        assert_eq!(s.master_key_file(), PathBuf::from("/k"));
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
        let flag = |args: &[&str]| settings(args, None).unwrap_err();
        assert!(flag(&["--token-ttl", "forever"]).contains("--token-ttl"));
        assert!(flag(&["--check-timeout", "1m"]).contains("check_timeout"));
        assert!(flag(&["--check-max-in-flight", "0"]).contains("--check-max-in-flight"));
        assert!(flag(&["--sqlite-synchronous", "off"]).contains("--sqlite-synchronous"));
        assert!(flag(&["--tls-cert-file", "c.pem"]).contains("tls_key_file"));
        assert!(flag(&["--default-language", "fr-fr"]).contains("--default-language"));
        assert_eq!(
            settings(&["--sqlite-synchronous", "NORMAL"], None)
                .unwrap()
                .sqlite_synchronous,
            Synchronous::Normal
        );

        let file = |toml: &str| settings(&[], Some(toml)).unwrap_err();
        assert!(file("token_ttl = \"forever\"").contains("token_ttl"));
        assert!(file("check_max_in_flight = 0").contains("check_max_in_flight"));
        assert!(file("log_format = \"xml\"").contains("log_format"));
        assert!(file("nonsense = 1").contains("nonsense"));
        assert!(file("listen = [").contains("invalid configuration file"));
        assert!(file("target_networks = [\"10.0.0.0/33\"]").contains("10.0.0.0/33"));
        assert!(flag(&["--target-networks", "10.0.0.0/8,bogus"]).contains("bogus"));
    }

    #[test]
    fn target_networks_come_as_a_list_or_comma_separated() {
        assert_eq!(settings(&[], None).unwrap().target_networks, None);
        let from_flag = settings(&["--target-networks", "10.0.0.0/8, 192.168.0.0/16"], None)
            .unwrap()
            .target_networks;
        let from_file = settings(
            &[],
            Some("target_networks = [\"10.0.0.0/8\", \"192.168.0.0/16\"]"),
        )
        .unwrap()
        .target_networks;
        assert_eq!(from_flag, from_file);
        assert_eq!(from_flag.unwrap().0.len(), 2);
    }
}
