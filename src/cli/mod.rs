//! The command line: `serve`, `migrate`, `admin ...`, `audit ...` and `db copy`, and
//! the client commands that speak to a remote server (`login`, `authorizations ...`, ...).

mod admin;
mod audit;
mod client;
mod db;
mod demo;
mod output;
mod serve;
mod ssh;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::Settings;
pub use output::Output;

#[derive(Parser)]
#[command(
    name = "support-access",
    version,
    about = "Support access authorization service"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct GlobalArgs {
    /// Output format of command results.
    #[arg(long, global = true, value_enum, default_value = "table")]
    output: Output,
    /// Optional TOML configuration file.
    #[arg(long, global = true, env = "SUPPORT_ACCESS_CONFIG")]
    config: Option<PathBuf>,
    /// The whole command line, settings included (see `Cli::command_with_settings`).
    #[arg(skip)]
    matches: ArgMatches,
}

// Parsed once at start-up, so the size of the `serve` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve(serve::ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage domains, users, groups, engineers and access keys (every change audited).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Read, export and verify the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Database tools: copy an installation from SQLite to PostgreSQL.
    #[command(subcommand)]
    Db(db::DbCommand),
    #[command(flatten)]
    Client(client::ClientCommand),
    /// The SSH broker: its host key.
    #[command(subcommand)]
    Ssh(ssh::SshCommand),
}

/// A command failure: printed to stderr (as `{"error": {"code", "message"}}` under
/// `--output json`), exit code 1.
pub struct CliError {
    /// What kind of failure, for scripts: `invalid`, `not_found`, `duplicate`,
    /// `unavailable`, `failed`, ...
    pub code: &'static str,
    pub message: String,
}

impl CliError {
    pub fn new(code: &'static str, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
        }
    }

    /// A failure with no more specific kind.
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError::new("failed", message)
    }

    fn print(&self, output: Output) {
        match output {
            Output::Json => eprintln!(
                "{}",
                serde_json::json!({ "error": { "code": self.code, "message": self.message } })
            ),
            Output::Table => eprintln!("error: {}", self.message),
        }
    }
}

impl From<crate::service::ServiceError> for CliError {
    fn from(e: crate::service::ServiceError) -> Self {
        use crate::service::ServiceError as E;
        use crate::store::StoreError as S;
        let code = match &e {
            E::Invalid(_) => "invalid",
            E::NotFound | E::Missing(_) | E::Store(S::NotFound) => "not_found",
            E::Duplicate(_) | E::Store(S::Duplicate(_)) => "duplicate",
            E::Conflict(_)
            | E::SessionConflict(_)
            | E::IdempotencyKeyReused
            | E::Store(S::Transition(_) | S::Session(_)) => "conflict",
            E::Forbidden(_) => "forbidden",
            E::Unauthenticated(_) => "unauthenticated",
            E::Busy { .. } | E::Store(S::Unavailable(_)) => "unavailable",
            E::Throttled { .. } => "throttled",
            E::Store(S::Internal(_)) | E::Internal { .. } => "internal",
        };
        let message = match &e {
            E::Duplicate(what) => format!("{what} already exists"),
            E::Store(S::Duplicate(cause)) => format!("{cause} already exists"),
            // The operator sees every cause (which file, which connection, why).
            other => crate::causes::Causes(other).to_string(),
        };
        CliError::new(code, message)
    }
}

impl From<crate::store::StoreError> for CliError {
    fn from(e: crate::store::StoreError) -> Self {
        crate::service::ServiceError::from(e).into()
    }
}

impl From<crate::server::StartupError> for CliError {
    fn from(e: crate::server::StartupError) -> Self {
        CliError::new("unavailable", crate::causes::Causes(&e).to_string())
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::failed(message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::failed(e.to_string())
    }
}

pub type CliResult = Result<(), CliError>;

impl GlobalArgs {
    /// Flags and variables, then the configuration file, then defaults.
    fn settings(&self) -> Result<Settings, CliError> {
        Settings::merge(&self.matches, self.config.as_deref()).map_err(CliError::failed)
    }
}

impl Cli {
    /// The command line with every setting as a flag that any subcommand accepts.
    fn command_with_settings() -> clap::Command {
        Settings::augment_args(Cli::command().next_help_heading("Settings"))
            .mut_args(|a| a.global(true))
    }

    fn parse_with_settings() -> Cli {
        let matches = Cli::command_with_settings().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        cli.global.matches = matches;
        cli
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse_with_settings();
    let output = cli.global.output;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Command::Client(command) = cli.command {
        // Client commands have their own exit codes (2 for usage).
        return runtime.block_on(client::run(cli.global.output, command));
    }
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(&cli.global, args).await,
            Command::Migrate => {
                let settings = cli.global.settings()?;
                crate::server::open_store(&settings).await?;
                cli.global.output.message(&format!(
                    "migrations applied to {}",
                    crate::config::redacted_url(&settings.database_url)
                ));
                Ok(())
            }
            Command::Admin(cmd) => admin::run(&cli.global, cmd).await,
            Command::Audit(cmd) => audit::run(&cli.global, cmd).await,
            Command::Db(cmd) => db::run(&cli.global, cmd).await,
            Command::Client(_) => unreachable!("client commands returned above"),
            Command::Ssh(cmd) => ssh::run(&cli.global, cmd).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error.print(output);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and flag has a line of help, down to the last subcommand.
    #[test]
    fn every_command_and_flag_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) -> usize {
            let path = format!("{path} {}", command.get_name());
            let mut seen = 1;
            if command.get_about().is_none() {
                missing.push(path.clone());
            }
            for arg in command.get_arguments() {
                seen += 1;
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                seen += walk(sub, &path, missing);
            }
            seen
        }
        let mut missing = Vec::new();
        let seen = walk(&Cli::command_with_settings(), "", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:#?}");
        assert!(seen > 100, "the walk reached every subcommand: {seen}");
    }
}
