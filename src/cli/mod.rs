//! The command line: `serve`, `migrate`, `admin ...`, `audit verify` and `db copy`.

mod admin;
mod audit;
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
    /// Manage domains, users, groups and engineers.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Database tools: copy an installation from SQLite to PostgreSQL.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// The SSH broker: its host key.
    #[command(subcommand)]
    Ssh(ssh::SshCommand),
}

/// A command failure: printed to stderr, exit code 1.
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

pub type CliResult = Result<(), CliError>;

impl GlobalArgs {
    /// Flags and variables, then the configuration file, then defaults.
    fn settings(&self) -> Result<Settings, CliError> {
        Settings::merge(&self.matches, self.config.as_deref()).map_err(CliError)
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
            Command::Ssh(cmd) => ssh::run(&cli.global, cmd).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
