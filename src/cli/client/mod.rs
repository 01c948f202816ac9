//! The CLI client: customers and engineers working against a remote server, signed
//! with an access key from the environment (`HUAWEICLOUD_SDK_AK`/`_SK`/`_DOMAIN_ID`)
//! or with the token `login` saved. Exit codes: 0 done, 1 the API refused or the server
//! could not be reached (the error on stderr), 2 usage.

mod credentials;
mod remote;
mod render;

use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::Output;
use crate::domain::secret::Secret;
use crate::domain::{Language, Status};
use credentials::Credentials;
use remote::{Remote, RemoteArgs};

/// Why a client command failed, and so its exit code.
pub enum ClientError {
    /// The command cannot run as given (exit 2).
    Usage(String),
    /// The API answered with an error (exit 1).
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The server could not be reached or answered nonsense (exit 1).
    Failed(String),
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Log in with a password and keep the token in ~/.config/support-access (mode 0600).
    Login(LoginArgs),
    /// Forget the saved token.
    Logout,
    /// Customers: authorization requests (list, show, confirm, reject, cancel).
    #[command(subcommand)]
    Authorizations(AuthorizationsCommand),
    /// Customers: check that a host accepts an account and password (CheckHosts).
    CheckHost(CheckHostArgs),
    /// The sessions an engineer opened on a detail.
    Sessions(SessionsArgs),
    /// The commands recorded in a session.
    Commands(SessionArgs),
    /// The file transfers recorded in a session.
    Transfers(SessionArgs),
    /// Engineers: raise, list and recall requests.
    #[command(subcommand)]
    Request(RequestCommand),
}

#[derive(Args)]
pub struct LoginArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The domain (customer account) name; engineers use `provider`.
    #[arg(long)]
    domain: String,
    /// The user name.
    #[arg(long)]
    user: String,
    /// Read the password from the first line of stdin instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Subcommand)]
pub enum AuthorizationsCommand {
    /// List the requests you may see.
    List {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Only requests in this status.
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        /// Only requests for this ticket.
        #[arg(long)]
        incident_id: Option<String>,
        /// Rows to skip.
        #[arg(long, default_value = "0")]
        offset: u32,
        /// Rows to show at most.
        #[arg(long, default_value = "100")]
        limit: u32,
    },
    /// Show one request with its details.
    Show {
        #[command(flatten)]
        remote: RemoteArgs,
        /// The authorization id.
        id: String,
    },
    /// Approve a pending request; the host password is prompted for (no echo).
    Confirm(ConfirmArgs),
    /// Reject a pending request.
    Reject {
        #[command(flatten)]
        remote: RemoteArgs,
        /// The authorization id.
        id: String,
        /// Why, as the engineer will read it.
        #[arg(long)]
        reason: String,
    },
    /// Revoke an approved request (or withdraw a pending one).
    Cancel {
        #[command(flatten)]
        remote: RemoteArgs,
        /// The authorization id.
        id: String,
    },
}

#[derive(Args)]
pub struct ConfirmArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The authorization id.
    id: String,
    /// The host detail to hand an account over for (none for a console-only request).
    #[arg(long, requires = "account")]
    detail: Option<i64>,
    /// The host account.
    #[arg(long, requires = "detail")]
    account: Option<String>,
    /// The host's SSH port.
    #[arg(long, requires = "detail")]
    port: Option<u16>,
    /// How long the access lasts from now, e.g. 2h or 3d [default: the server's, 24h].
    #[arg(long, conflicts_with = "until", value_parser = parse_window)]
    window: Option<std::time::Duration>,
    /// When the access ends, e.g. 2026-12-01T18:00:00Z.
    #[arg(long)]
    until: Option<jiff::Timestamp>,
    /// Read the host password from the first line of stdin instead of prompting.
    #[arg(long, requires = "detail")]
    password_stdin: bool,
}

#[derive(Args)]
pub struct CheckHostArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The host detail's id.
    detail_id: i64,
    /// The host account to log in as.
    #[arg(long)]
    account: String,
    /// The host's SSH port.
    #[arg(long, default_value = "22")]
    port: u16,
    /// Read the host password from the first line of stdin instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The authorization id.
    id: String,
    /// The host detail's id.
    detail_id: i64,
}

#[derive(Args)]
pub struct SessionArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The authorization id.
    id: String,
    /// The host detail's id.
    detail_id: i64,
    /// The session id (from `sessions`).
    session_id: i64,
}

#[derive(Subcommand)]
pub enum RequestCommand {
    /// Raise a request from a JSON file (`-` for stdin) shaped as the provider API's body.
    Raise {
        #[command(flatten)]
        remote: RemoteArgs,
        /// The request body, as JSON.
        #[arg(long)]
        file: PathBuf,
    },
    /// List your requests (all, for a provider admin).
    List {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Only requests in this status.
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        /// Rows to skip.
        #[arg(long, default_value = "0")]
        offset: u32,
        /// Rows to show at most.
        #[arg(long, default_value = "100")]
        limit: u32,
    },
    /// Withdraw a pending request.
    Recall {
        #[command(flatten)]
        remote: RemoteArgs,
        /// The request's id.
        id: String,
        /// Why, as the customer will read it.
        #[arg(long)]
        reason: Option<String>,
    },
}

fn parse_status(text: &str) -> Result<Status, String> {
    Status::ALL
        .into_iter()
        .find(|s| s.name(Language::En) == text || s.code().to_string() == text)
        .ok_or_else(|| {
            let names: Vec<_> = Status::ALL.iter().map(|s| s.name(Language::En)).collect();
            format!("expected one of {}", names.join(", "))
        })
}

fn parse_window(text: &str) -> Result<std::time::Duration, String> {
    crate::domain::time::parse_config_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{text}` is not a duration such as 2h or 3d"))
}

pub async fn run(output: Output, command: ClientCommand) -> ExitCode {
    match execute(output, command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(ClientError::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(ClientError::Api {
            status,
            code,
            message,
        }) => {
            eprintln!("error: {code}: {message} (HTTP {status})");
            ExitCode::FAILURE
        }
        Err(ClientError::Failed(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A remote with the caller's credentials.
fn connect(args: &RemoteArgs) -> Result<(Remote, Credentials), ClientError> {
    let remote = Remote::new(args)?;
    let who = credentials::resolve(remote.endpoint.as_str())?;
    Ok((remote, who))
}

const CUSTOMER: &str = "/v2/servicerequest/authorizations";
const PROVIDER: &str = "/provider/v1/authorizations";

async fn execute(output: Output, command: ClientCommand) -> Result<(), ClientError> {
    match command {
        ClientCommand::Login(args) => login(output, args).await,
        ClientCommand::Logout => {
            let forgot = credentials::forget()?;
            output.message(if forgot {
                "logged out"
            } else {
                "not logged in"
            });
            Ok(())
        }
        ClientCommand::Authorizations(cmd) => authorizations(output, cmd).await,
        ClientCommand::CheckHost(args) => {
            let (remote, who) = connect(&args.remote)?;
            let password = read_password(args.password_stdin, "host password: ")?;
            let body =
                json!({"port": args.port, "account": args.account, "password": password.expose()});
            let path = format!(
                "{CUSTOMER}/authorization-details/{}/verify-host",
                args.detail_id
            );
            remote
                .call(&who, Method::POST, remote.url(&path, &[]), Some(&body))
                .await?;
            output.message("the host accepted the account and password");
            Ok(())
        }
        ClientCommand::Sessions(args) => {
            let (remote, who) = connect(&args.remote)?;
            let path = format!(
                "{CUSTOMER}/{}/authorization-details/{}/history-sessions",
                args.id, args.detail_id
            );
            let list = get(&remote, &who, &path, &[]).await?;
            let columns = [
                ("SESSION", "session_id"),
                ("STARTED", "start_time"),
                ("ENDED", "end_time"),
                ("DURATION", "duration"),
            ];
            print_list(output, &list, "session_list", &columns);
            Ok(())
        }
        ClientCommand::Commands(args) => {
            let (remote, who) = connect(&args.remote)?;
            let path = session_path(&args, "operation-logs");
            let list = get(&remote, &who, &path, &[]).await?;
            print_list(
                output,
                &list,
                "ops_list",
                &[("TIME", "operate_time"), ("COMMAND", "oper")],
            );
            Ok(())
        }
        ClientCommand::Transfers(args) => {
            let (remote, who) = connect(&args.remote)?;
            let path = session_path(&args, "operation-file-logs");
            let list = get(&remote, &who, &path, &[]).await?;
            let columns = [
                ("TIME", "operate_time"),
                ("TYPE", "operate_type"),
                ("FILE", "file_name"),
                ("SIZE", "file_size"),
                ("RESULT", "oper_result"),
            ];
            print_list(output, &list, "file_ops_list", &columns);
            Ok(())
        }
        ClientCommand::Request(cmd) => request(output, cmd).await,
    }
}

fn session_path(args: &SessionArgs, list: &str) -> String {
    format!(
        "{CUSTOMER}/{}/authorization-details/{}/sessions/{}/{list}",
        args.id, args.detail_id, args.session_id
    )
}

async fn get(
    remote: &Remote,
    who: &Credentials,
    path: &str,
    query: &[(&str, Option<String>)],
) -> Result<Value, ClientError> {
    remote
        .call(who, Method::GET, remote.url(path, query), None)
        .await
}

async fn login(output: Output, args: LoginArgs) -> Result<(), ClientError> {
    let remote = Remote::new(&args.remote)?;
    let password = read_password(args.password_stdin, "password: ")?;
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": args.user, "password": password.expose(), "domain": {"name": args.domain}}}},
        "scope": {"domain": {"name": args.domain}}}});
    let response = remote
        .send_plain(Method::POST, remote.url("/v3/auth/tokens", &[]), &body)
        .await?;
    let token = response
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let answer = remote::answer(response).await?;
    let token = token.ok_or_else(|| ClientError::Failed("the server issued no token".into()))?;
    let saved = credentials::SavedLogin {
        endpoint: remote.endpoint.to_string(),
        domain: args.domain,
        user: args.user,
        token,
        expires_at: answer["token"]["expires_at"]
            .as_str()
            .unwrap_or_default()
            .into(),
    };
    let path = credentials::save(&saved)?;
    match output {
        Output::Json => println!(
            "{}",
            json!({"user": saved.user, "domain": saved.domain, "expires_at": saved.expires_at, "saved_to": path})
        ),
        Output::Table => println!(
            "logged in as {} in {} until {} (token saved to {})",
            saved.user,
            saved.domain,
            saved.expires_at,
            path.display()
        ),
    }
    Ok(())
}

async fn authorizations(output: Output, cmd: AuthorizationsCommand) -> Result<(), ClientError> {
    match cmd {
        AuthorizationsCommand::List {
            remote,
            status,
            incident_id,
            offset,
            limit,
        } => {
            let (remote, who) = connect(&remote)?;
            let query = [
                ("status", status.map(|s| s.code().to_string())),
                ("incident_id", incident_id),
                ("offset", Some(offset.to_string())),
                ("limit", Some(limit.to_string())),
            ];
            let list = get(&remote, &who, CUSTOMER, &query).await?;
            let columns = [
                ("ID", "id"),
                ("STATUS", "status"),
                ("INCIDENT", "incident_id"),
                ("CREATED", "create_time"),
                ("DESCRIPTION", "simple_description"),
            ];
            print_list(output, &list, "incident_auth_list", &columns);
        }
        AuthorizationsCommand::Show { remote, id } => {
            let (remote, who) = connect(&remote)?;
            let shown = get(&remote, &who, &format!("{CUSTOMER}/{id}"), &[]).await?;
            match output {
                Output::Json => println!("{shown}"),
                Output::Table => {
                    print!("{}", render::record(&shown));
                    let details = as_rows(&shown["incident_auth_detail_list"]);
                    let columns = [
                        ("DETAIL", "id"),
                        ("TYPE", "type"),
                        ("INSTANCE", "instance_name"),
                        ("REGION", "region_id"),
                        ("PORT", "port"),
                        ("ACCOUNT", "account"),
                    ];
                    print!("\n{}", render::table(&details, &columns));
                }
            }
        }
        AuthorizationsCommand::Confirm(args) => {
            let (remote, who) = connect(&args.remote)?;
            let body = confirm_body(&args)?;
            remote
                .call(
                    &who,
                    Method::PUT,
                    remote.url(&format!("{CUSTOMER}/{}", args.id), &[]),
                    Some(&body),
                )
                .await?;
            output.message(&format!("authorization {} confirmed", args.id));
        }
        AuthorizationsCommand::Reject { remote, id, reason } => {
            let body = json!({"reject_reason": reason});
            act(&remote, &id, "reject", &body).await?;
            output.message(&format!("authorization {id} rejected"));
        }
        AuthorizationsCommand::Cancel { remote, id } => {
            act(&remote, &id, "cancel", &json!({})).await?;
            output.message(&format!("authorization {id} canceled"));
        }
    }
    Ok(())
}

async fn act(remote: &RemoteArgs, id: &str, action: &str, body: &Value) -> Result<(), ClientError> {
    let (remote, who) = connect(remote)?;
    let url = remote.url(
        &format!("{CUSTOMER}/{id}/action"),
        &[("action_id", Some(action.to_owned()))],
    );
    remote.call(&who, Method::PUT, url, Some(body)).await?;
    Ok(())
}

/// The ConfirmAuthorizations body; the window in epoch milliseconds, from now.
fn confirm_body(args: &ConfirmArgs) -> Result<Value, ClientError> {
    let now = jiff::Timestamp::now();
    let mut body = json!({});
    let end = match (args.window, args.until) {
        (Some(window), _) => {
            Some(now + jiff::SignedDuration::try_from(window).unwrap_or(jiff::SignedDuration::MAX))
        }
        (None, Some(until)) => Some(until),
        (None, None) => None,
    };
    if let Some(end) = end {
        body["auth_effective_time"] = json!(now.as_millisecond());
        body["auth_expire_time"] = json!(end.as_millisecond());
    }
    if let (Some(detail), Some(account)) = (args.detail, &args.account) {
        let password = read_password(args.password_stdin, "host password: ")?;
        let mut grant =
            json!({"auth_detail_id": detail, "account": account, "password": password.expose()});
        if let Some(port) = args.port {
            grant["port"] = json!(port);
        }
        body["auth_detail_list"] = json!([grant]);
    }
    Ok(body)
}

async fn request(output: Output, cmd: RequestCommand) -> Result<(), ClientError> {
    match cmd {
        RequestCommand::Raise { remote, file } => {
            let text = if file.as_os_str() == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| ClientError::Usage(format!("cannot read stdin: {e}")))?;
                text
            } else {
                std::fs::read_to_string(&file).map_err(|e| {
                    ClientError::Usage(format!("cannot read {}: {e}", file.display()))
                })?
            };
            let body: Value = serde_json::from_str(&text)
                .map_err(|e| ClientError::Usage(format!("{} is not JSON: {e}", file.display())))?;
            let (remote, who) = connect(&remote)?;
            let raised = remote
                .call(&who, Method::POST, remote.url(PROVIDER, &[]), Some(&body))
                .await?;
            match output {
                Output::Json => println!("{raised}"),
                Output::Table => print!("{}", render::record(&raised)),
            }
        }
        RequestCommand::List {
            remote,
            status,
            offset,
            limit,
        } => {
            let (remote, who) = connect(&remote)?;
            let query = [
                ("status", status.map(|s| s.code().to_string())),
                ("offset", Some(offset.to_string())),
                ("limit", Some(limit.to_string())),
            ];
            let list = get(&remote, &who, PROVIDER, &query).await?;
            let columns = [
                ("ID", "id"),
                ("STATUS", "status"),
                ("INCIDENT", "incident_id"),
                ("CUSTOMER", "customer_id"),
                ("DESCRIPTION", "simple_description"),
            ];
            print_list(output, &list, "authorizations", &columns);
        }
        RequestCommand::Recall { remote, id, reason } => {
            let (remote, who) = connect(&remote)?;
            let body = json!({"reason": reason});
            let url = remote.url(&format!("{PROVIDER}/{id}/recall"), &[]);
            remote.call(&who, Method::POST, url, Some(&body)).await?;
            output.message(&format!("request {id} recalled"));
        }
    }
    Ok(())
}

fn as_rows(list: &Value) -> Vec<Value> {
    list.as_array().cloned().unwrap_or_default()
}

/// A list answer: as received in JSON, else its `member` rows as a table.
fn print_list(output: Output, answer: &Value, member: &str, columns: &[(&str, &str)]) {
    match output {
        Output::Json => println!("{answer}"),
        Output::Table => print!("{}", render::table(&as_rows(&answer[member]), columns)),
    }
}

/// A password from a no-echo prompt on the terminal, or the first line of stdin.
fn read_password(from_stdin: bool, prompt: &str) -> Result<Secret, ClientError> {
    let text = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| ClientError::Usage(format!("cannot read the password from stdin: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        rpassword::prompt_password(prompt).map_err(|e| {
            ClientError::Usage(format!(
                "cannot prompt for the password ({e}); pass --password-stdin"
            ))
        })?
    };
    if text.is_empty() {
        return Err(ClientError::Usage("the password is empty".into()));
    }
    Ok(Secret::new(text))
}
