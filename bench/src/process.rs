//! The servers under test as child processes: start-up time, memory, stopping.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::load::{Connection, http_request};

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// From spawn to the first `200` from `/readyz` (or the printed address).
    pub startup: Duration,
}

/// Where the service's server logs go (`/dev/null` unless a file is asked for).
fn log_sink(log: Option<&Path>) -> Result<Stdio, String> {
    match log {
        Some(path) => std::fs::File::create(path)
            .map(Stdio::from)
            .map_err(|e| format!("{}: {e}", path.display())),
        None => Ok(Stdio::null()),
    }
}

/// Starts `support-access serve` on `database_url` (SQLite at `synchronous=FULL`),
/// with the master key of the seeded data in `run_dir`.
pub async fn start_service(
    binary: &Path,
    database_url: &str,
    run_dir: &Path,
    log: Option<&Path>,
) -> Result<Server, String> {
    start_service_with(binary, database_url, run_dir, log, &[]).await
}

/// As [`start_service`], with `extra` settings.
pub async fn start_service_with(
    binary: &Path,
    database_url: &str,
    run_dir: &Path,
    log: Option<&Path>,
    extra: &[&str],
) -> Result<Server, String> {
    let mut command = Command::new(binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--ssh-listen", ""])
        .args(extra)
        .args(["--database-url", database_url])
        .arg("--master-key-file")
        .arg(run_dir.join("master.key"))
        .args(["--sqlite-synchronous", "full"])
        .env_remove("SUPPORT_ACCESS_MASTER_KEY")
        .env_remove("SUPPORT_ACCESS_CONFIG")
        .stderr(log_sink(log)?);
    let started = Instant::now();
    let mut server = spawn_printing_address(command, "support-access listening on ")?;
    wait_ready(server.addr).await?;
    server.startup = started.elapsed();
    Ok(server)
}

pub fn start_ceiling(database: &Path) -> Result<Server, String> {
    let mut command = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
    command.arg("ceiling").arg("--database").arg(database);
    spawn_printing_address(command, "ceiling listening on ")
}

fn spawn_printing_address(mut command: Command, prefix: &str) -> Result<Server, String> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            return Err(format!("{command:?} exited before listening"));
        };
        if let Some(rest) = line.strip_prefix(prefix) {
            let url = rest.split_whitespace().next().unwrap_or_default();
            break url
                .trim_start_matches("http://")
                .parse()
                .map_err(|e| format!("address {url}: {e}"))?;
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Server {
        child,
        addr,
        startup: started.elapsed(),
    })
}

async fn wait_ready(addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let request = http_request("GET", "/readyz", &addr.to_string(), &[], b"");
    while Instant::now() < deadline {
        if let Ok(mut conn) = Connection::open(addr).await {
            if conn.send(&request).await.is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Err(format!("the server at {addr} did not become ready"))
}

impl Server {
    /// Resets the kernel's peak-RSS mark, so the next reading covers only what follows.
    pub fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }

    /// `VmHWM`: the peak resident set size since the last reset, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    /// `RssAnon`: the anonymous memory resident now, in MiB (file pages, such as a
    /// memory-mapped database's, belong to the page cache and are not counted).
    pub fn anon_rss_mib(&self) -> f64 {
        self.status_mib("RssAnon:")
    }

    fn status_mib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// SIGTERM, then wait: the service finishes in-flight requests and exits.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a `support-access` subcommand to completion.
pub fn run_cli(binary: &Path, args: &[&str]) -> Result<(), String> {
    cli_output(binary, args).map(|_| ())
}

/// Runs a `support-access` subcommand to completion; what it printed.
pub fn cli_output(binary: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(binary)
        .args(args)
        .env_remove("SUPPORT_ACCESS_MASTER_KEY")
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "support-access {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The release server binary beside this one, built first when run through cargo.
pub fn service_binary() -> Result<PathBuf, String> {
    let here = std::env::current_exe().map_err(|e| e.to_string())?;
    let binary = here.with_file_name("support-access");
    if let Ok(cargo) = std::env::var("CARGO") {
        eprintln!("bench: building the release server");
        let mut build = Command::new(cargo);
        // `cargo run` describes this package to us in CARGO_PKG_* and the like; build
        // scripts (ring's) that watch those would otherwise see a change and rebuild
        // on every run, alternating with the workspace build.
        for (name, _) in std::env::vars() {
            let about_this_package = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_BIN_",
                "CARGO_CRATE_",
            ]
            .iter()
            .any(|p| name.starts_with(p))
                || matches!(
                    name.as_str(),
                    "CARGO_PRIMARY_PACKAGE" | "CARGO_RUSTC_CURRENT_DIR"
                );
            if about_this_package {
                build.env_remove(name);
            }
        }
        let status = build
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "support-access",
                "--bin",
            ])
            .arg("support-access")
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("cargo build of the server failed".into());
        }
    }
    if binary.exists() {
        Ok(binary)
    } else {
        Err(format!(
            "{} not found: run `cargo build --release` first",
            binary.display()
        ))
    }
}
