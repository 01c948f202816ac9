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

/// A `serve --demo` on a free port in `dir`, logging to `dir/server.log` as a
/// service manager would (not a terminal); killed on drop.
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
            .args([
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
                "--ssh-listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
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

/// `script` in `dir`, as a fresh shell where `support-access` is not installed.
fn bash(dir: &Path, script: &str, base: &str) -> Output {
    Command::new("bash")
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .env("SA", base)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env_remove("SUPPORT_ACCESS_DATABASE_URL")
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
    let out = bash(
        dir.path(),
        &format!("set -euo pipefail\n{snippet}"),
        &demo.base,
    );
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

    // The checkout after `cargo run --release`: the binary in target/release.
    let release = dir.path().join("target/release");
    std::fs::create_dir_all(&release).unwrap();
    std::os::unix::fs::symlink(BIN, release.join("support-access")).unwrap();
    let out = bash(dir.path(), &readme_walkthrough(), &demo.base);
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
    // The domain ids, looked up with the CLI the README installs.
    let acme = text
        .lines()
        .find(|l| l.starts_with("acme "))
        .unwrap_or_else(|| panic!("no domain list: {text}"));
    assert!(
        demo.printed
            .contains(acme.split_whitespace().nth(1).unwrap()),
        "the banner prints the id: {}",
        demo.printed
    );
    assert!(text.contains("\"host\": \"10.0.0.40\""), "{text}");
    assert!(
        text.contains("\"oper\": \"tail -n 50 /var/log/backup.log\""),
        "{text}"
    );
    assert!(text.contains("{\"appended\":2}"), "{text}");
    assert!(
        text.trim_end().ends_with("\"status\": 5\n}"),
        "ends canceled: {text}"
    );

    // A log written to a file is plain text: no terminal colour codes.
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("INFO"), "the requests were logged: {log}");
    assert!(
        !log.contains('\x1b'),
        "colour codes in a log file: {:?}",
        log.lines().next()
    );
}

/// The admin CLI as an operator named `operator-test` runs it, `input` on stdin.
fn admin(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .env_remove("SUPPORT_ACCESS_DATABASE_URL")
        .env_remove("SUDO_USER")
        .env("USER", "operator-test")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `args` (split at spaces) and returns stdout; panics on failure.
fn ok_in(dir: &Path, args: &str, input: &str) -> String {
    let args: Vec<&str> = args.split(' ').collect();
    let o = admin(dir, &args, input);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o)
}

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// An engineer's SSH public key (the private half was thrown away).
const EVE_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIALr04DS/b/6jxo1sPkXXtllOBKf1n1G9TSPOAEvOYbq ops-laptop";
const EVE_FINGERPRINT: &str = "SHA256:CwjrahfGvqNOtW2kI6E+EV+fR3zYiN5ZKMWWVeOUpk4";

/// Every admin command in table and JSON mode, on one installation.
#[test]
fn admin_commands_in_table_and_json_modes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &str| ok_in(d, args, "");
    let id = ok("admin domain create --name acme");
    assert_eq!(id.trim().len(), 32, "prints the domain id: {id}");
    let listed = ok("admin domain list");
    assert!(listed.starts_with("NAME  ID"), "{listed}");
    assert!(listed.contains(&format!("acme  {}", id.trim())), "{listed}");
    let domains = json_of(&ok("--output json admin domain list"));
    assert_eq!(domains[0]["id"], id.trim());

    // Passwords from standard input.
    let bob = json_of(&ok_in(
        d,
        "--output json admin user create --domain acme --name bob --password-stdin",
        "bob-password-1\n",
    ));
    assert_eq!(
        (bob["name"].as_str(), bob["admin"].as_bool()),
        (Some("bob"), Some(false))
    );
    ok_in(
        d,
        "admin user create --domain acme --name carol --password-stdin --admin",
        "carol-password-1\n",
    );
    let users = ok("admin user list --domain acme");
    let header = users.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "ID", "ADMIN", "ENABLED", "EMAIL", "CREATED_AT"]
    );
    assert_eq!(users.lines().count(), 3, "{users}");
    let users = json_of(&ok("--output json admin user list --domain acme"));
    assert_eq!(users.as_array().unwrap().len(), 2);

    let updated = json_of(&ok(
        "--output json admin user update --domain acme --name bob --email bob@example.com --admin",
    ));
    assert_eq!(
        (updated["email"].as_str(), updated["admin"].as_bool()),
        (Some("bob@example.com"), Some(true))
    );
    ok("admin user update --domain acme --name bob --no-admin");
    let shown = ok("admin user show --domain acme --name bob");
    assert!(shown.contains("email       bob@example.com"), "{shown}");
    assert!(shown.contains("admin       false"), "{shown}");
    let changed = ok_in(
        d,
        "admin user set-password --domain acme --name bob --password-stdin",
        "new-password-22\n",
    );
    assert_eq!(
        changed.trim(),
        "password of user bob in domain acme changed"
    );
    let disabled = json_of(&ok(
        "--output json admin user disable --domain acme --name bob",
    ));
    assert_eq!(disabled["enabled"], false);
    ok("admin user enable --domain acme --name bob");

    ok("admin group create --domain acme --name ops --operator");
    ok("admin group add-member --domain acme --group ops --user bob");
    ok("admin group add-member --domain acme --group ops --user carol");
    let groups = ok("admin group list --domain acme");
    assert!(groups.starts_with("NAME  ID"), "{groups}");
    assert!(
        groups
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("true      bob,carol"),
        "{groups}"
    );
    let group = json_of(&ok(
        "--output json admin group show --domain acme --name ops",
    ));
    assert_eq!(group["members"], serde_json::json!(["bob", "carol"]));
    assert_eq!(
        ok("admin group remove-member --domain acme --group ops --user carol").trim(),
        "user carol removed from group ops in domain acme"
    );
    let group = json_of(&ok(
        "--output json admin group show --domain acme --name ops",
    ));
    assert_eq!(group["members"], serde_json::json!(["bob"]));

    ok_in(
        d,
        "admin engineer create --name eve --password-stdin --provider-admin",
        "eve-password-1\n",
    );
    let engineers = ok("admin engineer list");
    assert!(engineers.starts_with("NAME  ID"), "{engineers}");
    let eve = json_of(&ok("--output json admin engineer show --name eve"));
    assert_eq!(
        (eve["provider_admin"].as_bool(), eve["domain"].as_str()),
        (Some(true), Some("provider"))
    );
    ok_in(
        d,
        "admin engineer set-password --name eve --password-stdin",
        "eve-password-2\n",
    );
    assert_eq!(
        json_of(&ok("--output json admin engineer disable --name eve"))["enabled"],
        false
    );
    assert_eq!(
        json_of(&ok("--output json admin engineer enable --name eve"))["enabled"],
        true
    );

    let key = json_of(&ok(
        "--output json admin access-key create --domain acme --user bob",
    ));
    assert_eq!(
        key["domain_id"],
        id.trim(),
        "the SDK's domain id comes with the key"
    );
    let ak = key["access_key"].as_str().unwrap();
    let keys = ok("admin access-key list --domain acme --user bob");
    let header = keys.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["ACCESS_KEY", "STATUS", "CREATED_AT", "EXPIRES_AT"]
    );
    assert!(
        keys.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("{ak}  active")),
        "{keys}"
    );
    ok(&format!("admin access-key disable --access-key {ak}"));
    let keys = json_of(&ok(
        "--output json admin access-key list --domain acme --user bob",
    ));
    assert_eq!(keys[0]["status"], "disabled");
    assert_eq!(
        ok(&format!("admin access-key enable --access-key {ak}")).trim(),
        format!("access key {ak} enabled")
    );
    let keys = json_of(&ok(
        "--output json admin access-key list --domain acme --user bob",
    ));
    assert_eq!(keys[0]["status"], "active");
    ok(&format!("admin access-key delete --access-key {ak}"));

    ok("admin group delete --domain acme --name ops");
    assert_eq!(
        json_of(&ok("--output json admin group list --domain acme")),
        serde_json::json!([])
    );
    ok("admin user delete --domain acme --name carol");
    let shown = json_of(&ok("--output json admin domain show --name acme"));
    assert_eq!(shown["users"], serde_json::json!(["bob"]));

    // SSH keys, webhook subscriptions and the broker's host key are administrative too.
    std::fs::write(d.join("eve.pub"), format!("{EVE_KEY}\n")).unwrap();
    ok("admin engineer add-ssh-key --name eve --public-key-file eve.pub");
    ok(&format!(
        "admin engineer remove-ssh-key --name eve --fingerprint {EVE_FINGERPRINT}"
    ));
    let hook = json_of(&ok(
        "--output json admin webhook create --domain acme --url https://hooks.example.com/in",
    ));
    let hook_id = hook["id"].as_str().unwrap();
    let rotated = json_of(&ok(&format!(
        "--output json admin webhook rotate-secret --domain acme --id {hook_id}"
    )));
    let secrets = [
        hook["secret"].as_str().unwrap(),
        rotated["secret"].as_str().unwrap(),
    ];
    ok(&format!(
        "admin webhook delete --domain acme --id {hook_id}"
    ));
    ok("ssh host-key");
    ok("ssh host-key");

    // Every change above is in the audit trail, made by the operator, with before/after.
    let events = json_of(&ok("--output json audit list --limit 1000"));
    let events = events.as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in [
        "domain.created",
        "user.created",
        "user.updated",
        "user.password_changed",
        "user.disabled",
        "user.enabled",
        "user.deleted",
        "engineer.created",
        "group.created",
        "group.member_added",
        "group.member_removed",
        "group.deleted",
        "access_key.created",
        "access_key.disabled",
        "access_key.enabled",
        "access_key.deleted",
        "ssh_key.added",
        "ssh_key.removed",
        "webhook.created",
        "webhook.secret_rotated",
        "webhook.deleted",
        "broker.host_key_created",
    ] {
        assert!(kinds.contains(kind), "{kind} is not audited: {kinds:?}");
    }
    let of_kind = |kind: &str| -> Vec<&serde_json::Value> {
        events.iter().filter(|e| e["type"] == kind).collect()
    };
    assert_eq!(
        of_kind("broker.host_key_created").len(),
        1,
        "the host key is made once, then read"
    );
    let removed = json_of(of_kind("ssh_key.removed")[0]["note"].as_str().unwrap());
    assert_eq!(removed["before"]["fingerprint"], EVE_FINGERPRINT);
    assert!(removed["after"].is_null(), "{removed}");
    let rotation = json_of(
        of_kind("webhook.secret_rotated")[0]["note"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(rotation["before"]["url"], "https://hooks.example.com/in");
    assert!(
        rotation["after"]["previous_secret_until"].is_string(),
        "{rotation}"
    );
    assert!(
        events.iter().all(|e| secrets
            .iter()
            .all(|s| !e["note"].as_str().unwrap().contains(&s[6..]))),
        "no webhook secret in the trail"
    );
    assert!(
        events
            .iter()
            .all(|e| e["actor"]["id"] == "cli:operator-test")
    );
    let update = events.iter().find(|e| e["type"] == "user.updated").unwrap();
    let note = json_of(update["note"].as_str().unwrap());
    assert_eq!(note["after"]["email"], "bob@example.com");
    assert!(
        note["before"]["email"].is_null() || note["before"]["admin"] == true,
        "{note}"
    );
    assert!(
        events
            .iter()
            .all(|e| !e["note"].as_str().unwrap().contains("password-")
                && !e["note"].as_str().unwrap().contains("argon2")),
        "no password or hash in the trail"
    );
    let filtered = json_of(&ok(
        "--output json audit list --domain acme --type user.deleted",
    ));
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    let table = ok("audit list --domain system");
    assert!(table.starts_with("TIME"), "{table}");
    assert!(table.contains("domain.created"), "{table}");
    let verified = json_of(&ok("--output json audit verify"));
    assert_eq!(verified["result"], "ok");
    assert!(verified["events"].as_u64().unwrap() >= 20, "{verified}");

    // A tampered administrative event fails verification: an older one, and one of
    // those that landed later (an SSH key said to be someone else's).
    let conn = rusqlite::Connection::open(d.join("data/support-access.db")).unwrap();
    let edit = |kind: &str, from: &str, to: &str| {
        let sql = "UPDATE audit_events SET note = replace(note, ?1, ?2) WHERE kind = ?3";
        assert!(conn.execute(sql, [from, to, kind]).unwrap() >= 1, "{kind}");
    };
    for (kind, from, to) in [
        ("user.updated", "bob@example.com", "eve@example.com"),
        ("ssh_key.added", "ops-laptop", "someone-else"),
    ] {
        edit(kind, from, to);
        let o = admin(d, &["audit", "verify"], "");
        edit(kind, to, from);
        assert_eq!(o.status.code(), Some(1), "{kind}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("FAILED") && err.contains("altered"),
            "{kind}: {err}"
        );
    }
    let o = admin(d, &["audit", "verify"], "");
    assert!(o.status.success(), "restored, the chains verify again");
}

#[test]
fn admin_errors_say_what_in_words_and_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok_in(d, "admin domain create --name acme", "");
    ok_in(
        d,
        "admin user create --domain acme --name bob --password-stdin",
        "bob-password-1\n",
    );
    let fails = |args: &str, input: &str, message: &str, code: &str| {
        let argv: Vec<&str> = args.split(' ').collect();
        let o = admin(d, &argv, input);
        assert_eq!(o.status.code(), Some(1), "{args}");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            format!("error: {message}\n"),
            "{args}"
        );
        let json = [&["--output", "json"][..], &argv].concat();
        let o = admin(d, &json, input);
        assert_eq!(o.status.code(), Some(1), "{args}");
        assert_eq!(stdout(&o), "", "{args}");
        let err = json_of(&String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            err,
            serde_json::json!({"error": {"code": code, "message": message}}),
            "{args}"
        );
    };
    fails(
        "admin user show --domain acme --name nobody",
        "",
        "user `nobody` in domain `acme` not found",
        "not_found",
    );
    fails(
        "admin user disable --domain nope --name bob",
        "",
        "domain `nope` not found",
        "not_found",
    );
    fails(
        "admin user create --domain acme --name carol --password-stdin",
        "short\n",
        "password must be 8 to 128 characters long",
        "invalid",
    );
    fails(
        "admin user create --domain acme --name bob --password-stdin",
        "bob-password-2\n",
        "user `bob` in domain `acme` already exists",
        "duplicate",
    );
    fails(
        "admin domain create --name acme",
        "",
        "domain `acme` already exists",
        "duplicate",
    );
    fails(
        "admin group remove-member --domain acme --group ops --user bob",
        "",
        "group `ops` in domain `acme` not found",
        "not_found",
    );
    fails(
        "admin access-key enable --access-key AKNOTAKEY",
        "",
        "access key `AKNOTAKEY` not found",
        "not_found",
    );
    fails(
        "admin engineer show --name nobody",
        "",
        "engineer `nobody` not found",
        "not_found",
    );
    fails(
        "admin user update --domain acme --name bob --email not-an-address",
        "",
        "email is malformed",
        "invalid",
    );
    // No terminal to ask on, and no password given.
    fails(
        "admin user set-password --domain acme --name bob",
        "",
        "no password given: use --password-stdin, or run in a terminal to be asked",
        "invalid",
    );
    // Nothing was changed by the failures: one domain, one user, and their two events.
    let events = json_of(&ok_in(d, "--output json audit list", ""));
    assert_eq!(events.as_array().unwrap().len(), 2, "{events}");
}

#[test]
fn an_audit_export_verifies_without_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    drop(Demo::start(d));
    let export = ok_in(d, "audit export --format jsonl", "");
    let lines: Vec<&str> = export.lines().collect();
    assert!(lines.len() >= 20, "{export}");
    let file = d.join("export.jsonl");
    std::fs::write(&file, &export).unwrap();
    // The database is gone: the file alone verifies.
    std::fs::remove_dir_all(d.join("data")).unwrap();
    let path = file.to_str().unwrap();
    let verified = json_of(&ok_in(
        d,
        &format!("--output json audit verify --export {path}"),
        "",
    ));
    assert_eq!(
        (verified["result"].as_str(), verified["events"].as_u64()),
        (Some("ok"), Some(lines.len() as u64))
    );

    let tampered = export.replacen("Please use the read replica instead.", "Approved.", 1);
    assert_ne!(tampered, export);
    std::fs::write(&file, tampered).unwrap();
    let o = admin(d, &["audit", "verify", "--export", path], "");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("FAILED") && err.contains("altered"), "{err}");

    // An event removed anywhere, even a chain's first, fails too (here: the first of a
    // chain of three or more, so that the chain stays in the file).
    let events: Vec<serde_json::Value> = lines.iter().map(|l| json_of(l)).collect();
    let long = events.iter().find(|e| e["seq"] == 3).unwrap()["chain"].clone();
    let first = events
        .iter()
        .position(|e| e["chain"] == long && e["seq"] == 1)
        .unwrap();
    let mut dropped: Vec<&str> = lines.clone();
    dropped.remove(first);
    std::fs::write(&file, dropped.join("\n")).unwrap();
    assert_eq!(
        admin(d, &["audit", "verify", "--export", path], "")
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn an_ocsf_export_has_one_fitting_class_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    drop(Demo::start(d));
    let export = ok_in(d, "audit export --format ocsf", "");
    let mut classes = std::collections::BTreeSet::new();
    for line in export.lines() {
        let e = json_of(line);
        let class = e["class_uid"].as_u64().unwrap();
        assert_eq!(
            e["type_uid"].as_u64().unwrap(),
            class * 100 + e["activity_id"].as_u64().unwrap()
        );
        assert_eq!(e["metadata"]["version"], "1.5.0");
        classes.insert(class);
    }
    // Accounts, groups, sessions, host logins and the workflow itself.
    for class in [3001, 3006, 3003, 3002, 6003] {
        assert!(classes.contains(&class), "{class} missing: {classes:?}");
    }
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

/// `admin engineer add-ssh-key|list-ssh-keys|remove-ssh-key` and `ssh host-key`, as an
/// operator runs them: the key the engineer made with `ssh-keygen`, and the broker's
/// host key as a `known_hosts` line, the same on every run.
#[test]
fn ssh_keys_and_the_broker_host_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok_in(
        d,
        "admin engineer create --name eve --password-stdin",
        "eve-password-12\n",
    );
    let key = d.join("eve");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "eve@laptop", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "ssh-keygen needs openssh-client");
    let public = key.with_extension("pub");
    let public = public.to_str().unwrap();
    // The fingerprint OpenSSH itself computes.
    let keygen = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f", public])
        .output()
        .unwrap();
    let fingerprint = stdout(&keygen)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");

    let added = json_of(&ok_in(
        d,
        &format!("--output json admin engineer add-ssh-key --name eve --public-key-file {public}"),
        "",
    ));
    assert_eq!(added["fingerprint"], fingerprint.as_str());
    assert_eq!(
        (added["algorithm"].as_str(), added["comment"].as_str()),
        (Some("ssh-ed25519"), Some("eve@laptop"))
    );
    let listed = ok_in(d, "admin engineer list-ssh-keys --name eve", "");
    assert!(listed.contains(&fingerprint), "{listed}");
    // The same key again, a file that is not a key, an unknown engineer: refused.
    for args in [
        format!("admin engineer add-ssh-key --name eve --public-key-file {public}"),
        format!(
            "admin engineer add-ssh-key --name eve --public-key-file {}",
            key.display()
        ),
        format!("admin engineer add-ssh-key --name nobody --public-key-file {public}"),
    ] {
        let argv: Vec<&str> = args.split(' ').collect();
        let o = admin(d, &argv, "");
        assert_eq!(o.status.code(), Some(1), "{args}");
        assert!(
            String::from_utf8_lossy(&o.stderr).starts_with("error: "),
            "{args}"
        );
    }
    let removed = ok_in(
        d,
        &format!("admin engineer remove-ssh-key --name eve --fingerprint {fingerprint}"),
        "",
    );
    assert!(removed.contains("removed"), "{removed}");
    let listed = json_of(&ok_in(
        d,
        "--output json admin engineer list-ssh-keys --name eve",
        "",
    ));
    assert_eq!(listed, serde_json::json!([]));

    // `ssh host-key`: the public line and its fingerprint, stable across runs, and a
    // valid known_hosts line as far as OpenSSH is concerned.
    let shown = ok_in(d, "ssh host-key", "");
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(lines[0].starts_with("ssh-ed25519 "), "{shown}");
    assert_eq!(
        ok_in(d, "ssh host-key", ""),
        shown,
        "one key per installation"
    );
    let json = json_of(&ok_in(d, "--output json ssh host-key", ""));
    assert_eq!(
        (json["public_key"].as_str(), json["fingerprint"].as_str()),
        (Some(lines[0]), Some(lines[1]))
    );
    let known_hosts = d.join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("[broker.example]:2222 {}\n", lines[0]),
    )
    .unwrap();
    let checked = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(&known_hosts)
        .output()
        .unwrap();
    assert!(
        stdout(&checked).contains(lines[1]),
        "OpenSSH reads another fingerprint: {}",
        stdout(&checked)
    );
}
