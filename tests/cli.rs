//! The binary as users run it: `serve --demo`, the README walkthrough, the admin
//! commands and `audit verify`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_support-access");

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env_remove("SUPPORT_ACCESS_DATABASE_URL")
        .env_remove("SUPPORT_ACCESS_MASTER_KEY")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A `serve --demo` on a free port in `dir`; killed on drop.
struct Demo {
    child: Child,
    base: String,
    printed: String,
}

impl Demo {
    fn start(dir: &Path) -> Demo {
        let mut child = Command::new(BIN)
            .current_dir(dir)
            .env_remove("SUPPORT_ACCESS_DATABASE_URL")
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = String::new();
        let base = loop {
            let line = lines
                .next()
                .expect("the server printed its address")
                .unwrap();
            if let Some(rest) = line.strip_prefix("support-access listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
            printed.push_str(&line);
            printed.push('\n');
        };
        Demo {
            child,
            base,
            printed,
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bash(script: &str, base: &str) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("SA", base)
        .output()
        .unwrap()
}

/// The fenced block that follows the walkthrough marker in the README.
fn readme_walkthrough() -> String {
    let readme = include_str!("../README.md");
    let after = &readme[readme.find("<!-- walkthrough").expect("walkthrough marker")..];
    let start = after.find("```bash\n").unwrap() + "```bash\n".len();
    let end = start + after[start..].find("\n```").unwrap();
    after[start..end].to_owned()
}

#[test]
fn demo_then_the_readme_walkthrough_works_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(dir.path());
    assert!(
        demo.printed.contains("alice / alice-demo-pass"),
        "{}",
        demo.printed
    );

    // The session the demo printed: list, reject the pending one, cancel the granted one.
    let snippet = &demo.printed[demo.printed.find("SA=").unwrap()..];
    let snippet = snippet.replacen(&format!("SA={}", demo.base), "", 1);
    let out = bash(&format!("set -euo pipefail\n{snippet}"), &demo.base);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("\"count\": 6"),
        "six demo authorizations: {text}"
    );
    assert_eq!(
        text.lines().filter(|l| *l == "{}").count(),
        2,
        "reject and cancel both succeed: {text}"
    );

    let out = bash(&readme_walkthrough(), &demo.base);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("CS2026112899  Nightly backup fails"),
        "{text}"
    );
    assert!(
        text.contains("\"oper\": \"tail -n 50 /var/log/backup.log\""),
        "{text}"
    );
    assert!(text.contains("{\"appended\":2}"), "{text}");
    assert!(
        text.trim_end().ends_with("\"status\": 5\n}"),
        "ends canceled: {text}"
    );
}

#[test]
fn admin_commands_and_audit_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let o = cli(d, args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        stdout(&o)
    };
    let id = ok(&["admin", "domain", "create", "--name", "acme"]);
    assert_eq!(id.trim().len(), 32, "prints the domain id: {id}");
    let user = ok(&[
        "--output",
        "json",
        "admin",
        "user",
        "create",
        "--domain",
        "acme",
        "--name",
        "bob",
        "--password",
        "bob-password-1",
    ]);
    let user: serde_json::Value = serde_json::from_str(&user).unwrap();
    assert_eq!(
        (user["name"].as_str(), user["admin"].as_bool()),
        (Some("bob"), Some(false))
    );
    ok(&[
        "admin",
        "group",
        "create",
        "--domain",
        "acme",
        "--name",
        "ops",
        "--operator",
    ]);
    ok(&[
        "admin",
        "group",
        "add-member",
        "--domain",
        "acme",
        "--group",
        "ops",
        "--user",
        "bob",
    ]);
    ok(&[
        "admin",
        "engineer",
        "create",
        "--name",
        "eve",
        "--password",
        "eve-password-1",
        "--provider-admin",
    ]);
    ok(&["migrate"]);
    for (command, enabled) in [("disable", false), ("enable", true)] {
        let args = ["--output", "json", "admin", "user", command];
        let out = ok(&[&args[..], &["--domain", "acme", "--name", "bob"]].concat());
        let out: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (out["name"].as_str(), out["enabled"].as_bool()),
            (Some("bob"), Some(enabled))
        );
    }

    // Mistakes are clear errors with exit code 1.
    for args in [
        vec!["admin", "domain", "create", "--name", "acme"],
        vec![
            "admin",
            "user",
            "create",
            "--domain",
            "nope",
            "--name",
            "x",
            "--password",
            "long-enough-1",
        ],
        vec![
            "admin",
            "user",
            "create",
            "--domain",
            "acme",
            "--name",
            "x",
            "--password",
            "short",
        ],
        vec![
            "admin", "user", "disable", "--domain", "acme", "--name", "nobody",
        ],
    ] {
        let o = cli(d, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).starts_with("error: "),
            "{args:?}"
        );
    }
    let db = d.join("data/support-access.db");
    assert!(db.exists() && d.join("data/master.key").exists());
}

#[test]
fn audit_verify_fails_loudly_on_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A demo installation has a populated audit chain.
    drop(Demo::start(d));
    let verify = cli(d, &["--output", "json", "audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&verify)).unwrap();
    assert_eq!(report["result"], "ok");
    assert!(report["events"].as_u64().unwrap() >= 10);

    let conn = rusqlite::Connection::open(d.join("data/support-access.db")).unwrap();
    let domain: String = conn
        .query_row(
            "SELECT domain_id FROM audit_events WHERE seq = 3 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let original: Option<String> = conn
        .query_row(
            "SELECT reason FROM audit_events WHERE domain_id = ?1 AND seq = 3",
            [&domain],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE audit_events SET reason = 'nothing to see' WHERE domain_id = ?1 AND seq = 3",
        [&domain],
    )
    .unwrap();
    let verify = cli(d, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1));
    let err = String::from_utf8_lossy(&verify.stderr);
    assert!(
        err.contains("FAILED") && err.contains("event 3") && err.contains("altered"),
        "{err}"
    );

    // Restored, it verifies again; deleting the newest event is caught by the recorded head.
    conn.execute(
        "UPDATE audit_events SET reason = ?2 WHERE domain_id = ?1 AND seq = 3",
        (&domain, &original),
    )
    .unwrap();
    assert!(cli(d, &["audit", "verify"]).status.success());
    conn.execute(
        "DELETE FROM audit_events WHERE domain_id = ?1 AND seq = (SELECT MAX(seq) FROM audit_events WHERE domain_id = ?1)",
        [&domain],
    )
    .unwrap();
    let verify = cli(d, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", stdout(&verify));
}

/// Finding 11: a status edited in the database behind the service's back no longer
/// matches what the audit events lead to, and `audit verify` says so.
#[test]
fn audit_verify_replays_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    drop(Demo::start(d));
    assert!(cli(d, &["audit", "verify"]).status.success());
    let conn = rusqlite::Connection::open(d.join("data/support-access.db")).unwrap();
    // A pending request (status 0) made to look authorized (1).
    let id: i64 = conn
        .query_row(
            "SELECT id FROM authorizations WHERE status = 0 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute("UPDATE authorizations SET status = 1 WHERE id = ?1", [id])
        .unwrap();
    let verify = cli(d, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1));
    let err = String::from_utf8_lossy(&verify.stderr);
    assert!(
        err.contains(&format!("authorization {id}"))
            && err.contains("audit events lead to Pending"),
        "{err}"
    );
}

/// Finding 11: the SQLite file is created readable by its owner only.
#[cfg(unix)]
#[test]
fn the_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    drop(Demo::start(dir.path()));
    for file in ["support-access.db", "master.key"] {
        let mode = std::fs::metadata(dir.path().join("data").join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}
