//! The SSH broker end to end: OpenSSH's `ssh` as the engineer, the broker, and
//! OpenSSH's `sshd` as the customer's host (SPEC §7).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::broker_host::{ACCOUNT, Broker, EngineerKey, PASSWORD, Running, Sshd, output, ssh};
use crate::helpers::{TestServer, World, captured_logs, on_postgres_or_skip};

/// `eng` raises for `bob` a host detail at the sshd; returns (id, host detail).
pub async fn raise(w: &World) -> (String, i64) {
    let (id, details) = w.raise_on("eng", "bob", "127.0.0.1").await;
    (id, details[0])
}

/// Bob confirms with the sshd's account; `window` as (effective, expire) in ms.
pub async fn confirm(w: &World, id: &str, detail: i64, sshd: &Sshd, window: Option<(i64, i64)>) {
    let mut body = json!({"auth_detail_list": [{
        "auth_detail_id": detail, "port": sshd.port, "account": ACCOUNT, "password": PASSWORD
    }]});
    if let Some((from, to)) = window {
        body["auth_effective_time"] = json!(from);
        body["auth_expire_time"] = json!(to);
    }
    let path = format!("/v2/servicerequest/authorizations/{id}");
    let r = w.call("PUT", &path, Some(w.token("bob")), Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.raw);
}

fn sessions_path(id: &str, detail: i64) -> String {
    format!(
        "/v2/servicerequest/authorizations/{id}/authorization-details/{detail}/history-sessions"
    )
}

pub async fn sessions(w: &World, id: &str, detail: i64) -> Vec<Value> {
    let r = w
        .call(
            "GET",
            &sessions_path(id, detail),
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["session_list"].as_array().unwrap().clone()
}

pub async fn commands(w: &World, id: &str, detail: i64, session: i64) -> Vec<String> {
    let path = format!(
        "/v2/servicerequest/authorizations/{id}/authorization-details/{detail}/sessions/{session}/operation-logs?sort=1"
    );
    let r = w.call("GET", &path, Some(w.token("bob")), None).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["ops_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["oper"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `check` holds (records are written right after the connection ends).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn audit_kinds(w: &World) -> Vec<(String, String)> {
    let chains = w.app.store_for_inspection().audit_chains().await.unwrap();
    chains
        .iter()
        .flat_map(|c| &c.events)
        .map(|e| (e.draft.kind.clone(), e.draft.note.clone()))
        .collect()
}

pub struct Setup {
    pub w: World,
    pub sshd: Sshd,
    pub broker: Broker,
    pub key: EngineerKey,
}

pub async fn setup() -> Setup {
    let w = World::new().await;
    let sshd = Sshd::start();
    let broker = Broker::start(&w).await;
    let key = EngineerKey::new();
    key.register(&w, "eng").await;
    Setup {
        w,
        sshd,
        broker,
        key,
    }
}

/// A setup with a second instance on the same (PostgreSQL) database. The broker
/// polls too rarely to matter, so a cut must come from PostgreSQL's notification.
pub async fn setup_with_twin() -> (Setup, World) {
    let mut s = setup().await;
    s.broker = Broker::start_with_recheck(&s.w, Duration::from_secs(60)).await;
    let twin: TestServer = s.w.start_twin().await;
    let b = s.w.sharing(twin);
    (s, b)
}

#[tokio::test]
async fn exec_runs_as_the_host_account_and_is_recorded_without_the_password() {
    let s = setup().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let (code, out, err) = output({
        let mut c = ssh(&s.broker, &s.key, &format!("eng:{detail}"));
        c.arg("echo hi; id -un");
        c
    })
    .await;
    assert_eq!(
        (code, out.as_str()),
        (Some(0), format!("hi\n{ACCOUNT}\n").as_str()),
        "{err}"
    );
    // `#` works as the separator too; the exit status comes back.
    let (code, _, _) = output({
        let mut c = ssh(&s.broker, &s.key, &format!("eng#{detail}"));
        c.arg("exit 7");
        c
    })
    .await;
    assert_eq!(code, Some(7));

    eventually("both sessions closed", || async {
        let list = sessions(&s.w, &id, detail).await;
        list.len() == 2 && list.iter().all(|x| x["end_time"].is_string())
    })
    .await;
    let list = sessions(&s.w, &id, detail).await;
    assert!(list.iter().all(|x| x["source"] == "broker"), "{list:?}");
    let mut recorded = Vec::new();
    for session in &list {
        recorded.extend(commands(&s.w, &id, detail, session["session_id"].as_i64().unwrap()).await);
    }
    recorded.sort();
    assert_eq!(recorded, vec!["echo hi; id -un", "exit 7"]);

    // The host key seen at the first login is pinned, as CheckHosts pins it.
    let shown =
        s.w.call(
            "GET",
            &format!("/provider/v1/authorizations/{id}"),
            Some(s.w.token("eng")),
            None,
        )
        .await;
    assert!(
        shown.body["details"][0]["host_key_fingerprint"].is_string(),
        "{}",
        shown.raw
    );
    assert!(!shown.raw.contains(PASSWORD));
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(
        !logs.contains(PASSWORD),
        "the host password is in the server log"
    );
    for path in [
        sessions_path(&id, detail),
        format!("/v2/servicerequest/authorizations/{id}"),
    ] {
        let r = s.w.call("GET", &path, Some(s.w.token("bob")), None).await;
        assert!(!r.raw.contains(PASSWORD));
    }
}

/// `ssh -tt` through the broker as the engineer of `detail`, at its first prompt.
pub async fn interactive_shell(s: &Setup, detail: i64) -> Running {
    let mut cmd = ssh(&s.broker, &s.key, &format!("eng:{detail}"));
    cmd.arg("-tt");
    let shell = Running::spawn(cmd);
    shell.wait_for("$ ", 1).await;
    shell
}

#[tokio::test]
async fn an_interactive_shell_records_the_command_lines_as_edited() {
    let s = setup().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let mut shell = interactive_shell(&s, detail).await;
    shell.send(b"echo first\r");
    shell.wait_for("$ ", 2).await;
    // A typo fixed with backspace: the shell runs `echo second`.
    shell.send(b"echo secomd\x7f\x7fnd\r");
    shell.wait_for("$ ", 3).await;
    shell.send(b"exit\r");
    assert!(shell.exited_within(Duration::from_secs(10)).await.is_some());
    assert!(shell.text().contains("second"), "{}", shell.text());

    eventually("the session closed", || async {
        sessions(&s.w, &id, detail)
            .await
            .first()
            .is_some_and(|x| x["end_time"].is_string())
    })
    .await;
    let session = sessions(&s.w, &id, detail).await[0]["session_id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        commands(&s.w, &id, detail, session).await,
        vec!["echo first", "echo second", "exit"]
    );
}

#[tokio::test]
async fn cancel_cuts_a_running_session_within_two_seconds() {
    let s = setup().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let mut cmd = ssh(&s.broker, &s.key, &format!("eng:{detail}"));
    cmd.arg("echo started; sleep 600");
    let mut running = Running::spawn(cmd);
    running.wait_for("started", 1).await;
    let r = s.w.act("bob", &id, "cancel", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let cut = Instant::now();
    assert!(
        running
            .exited_within(Duration::from_secs(2))
            .await
            .is_some(),
        "still connected 2 s after the cancel"
    );
    assert!(cut.elapsed() <= Duration::from_secs(2));
    assert!(
        running
            .text()
            .contains("session closed: the authorization is canceled"),
        "{}",
        running.text()
    );
    eventually("the session closed", || async {
        sessions(&s.w, &id, detail)
            .await
            .first()
            .is_some_and(|x| x["end_time"].is_string())
    })
    .await;
    // The record says why, as the engineer was told.
    let closed = &sessions(&s.w, &id, detail).await[0];
    assert_eq!(
        closed["close_reason"], "the authorization is canceled",
        "{closed}"
    );
}

/// Runs `id -un` through the broker as `user` with `key`: (exit code, all output).
async fn attempt(s: &Setup, key: &EngineerKey, user: &str) -> (Option<i32>, String) {
    let (code, out, err) = output({
        let mut c = ssh(&s.broker, key, user);
        c.arg("id -un");
        c
    })
    .await;
    (code, format!("{out}{err}"))
}

#[tokio::test]
async fn refusals_say_why_are_audited_and_reach_nothing() {
    let s = setup().await;
    let now = s.w.app.clock.now().as_millisecond();
    let hour = 3_600_000;
    // Authorized, but the window opens in an hour.
    let (later, later_detail) = raise(&s.w).await;
    confirm(
        &s.w,
        &later,
        later_detail,
        &s.sshd,
        Some((now + hour, now + 2 * hour)),
    )
    .await;
    let (_, pending_detail) = raise(&s.w).await;
    let (rejected, rejected_detail) = raise(&s.w).await;
    let r =
        s.w.act("bob", &rejected, "reject", json!({"reason": "no"}))
            .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let others_detail = s.w.raise_on("eng2", "bob", "127.0.0.1").await.1[0];
    let (open, open_detail) = raise(&s.w).await;
    confirm(&s.w, &open, open_detail, &s.sshd, None).await;

    for (user, why) in [
        (format!("eng:{later_detail}"), "access window is not open"),
        (
            format!("eng:{pending_detail}"),
            "the authorization is pending",
        ),
        (
            format!("eng:{rejected_detail}"),
            "the authorization is rejected",
        ),
        // Raised by eng2: to eng it does not exist.
        (format!("eng:{others_detail}"), "no such target"),
        (format!("eng:{}", open_detail + 1_000_000), "no such target"),
    ] {
        let (code, text) = attempt(&s, &s.key, &user).await;
        assert_eq!(code, Some(1), "{user}: {text}");
        assert!(text.contains(why), "{user}: {text}");
        assert!(!text.contains(ACCOUNT), "{user}: something ran: {text}");
    }
    let refused = audit_kinds(&s.w).await;
    assert_eq!(
        refused
            .iter()
            .filter(|(k, _)| k == "broker_refused")
            .count(),
        5,
        "{refused:?}"
    );

    // An unregistered key, or a registered key naming another engineer: no login.
    let stranger = EngineerKey::new();
    let (code, text) = attempt(&s, &stranger, &format!("eng:{open_detail}")).await;
    assert_eq!(code, Some(255), "{text}");
    assert!(text.contains("Permission denied"), "{text}");
    let (code, _) = attempt(&s, &s.key, &format!("eng2:{open_detail}")).await;
    assert_eq!(code, Some(255));
    let failed = audit_kinds(&s.w).await;
    assert!(
        failed
            .iter()
            .filter(|(k, _)| k == "broker_login_failed")
            .count()
            >= 2,
        "{failed:?}"
    );
    // No session was recorded anywhere.
    for (id, detail) in [(&later, later_detail), (&open, open_detail)] {
        assert!(sessions(&s.w, id, detail).await.is_empty());
    }
    // The engineer of that detail does get in.
    let (code, text) = attempt(&s, &s.key, &format!("eng:{open_detail}")).await;
    assert_eq!((code, text.trim()), (Some(0), ACCOUNT));
}

#[tokio::test]
async fn changed_host_keys_and_expired_authorizations_are_refused() {
    let s = setup().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let user = format!("eng:{detail}");
    let (code, _) = attempt(&s, &s.key, &user).await;
    assert_eq!(code, Some(0), "the first login pins the host key");

    // Same address, another host key: refused before the password is sent.
    let s = Setup {
        sshd: s.sshd.with_new_host_key(),
        ..s
    };
    let (code, text) = attempt(&s, &s.key, &user).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("host key changed"), "{text}");
    assert!(!text.contains(ACCOUNT));
    let events = audit_kinds(&s.w).await;
    assert!(
        events.iter().any(|(k, _)| k == "host_key_mismatch"),
        "{events:?}"
    );

    // Past the window, once the sweeper expired it.
    s.w.app
        .clock
        .advance(jiff::SignedDuration::from_hours(24 * 400));
    s.w.app.sweep_once().await.unwrap();
    let (code, text) = attempt(&s, &s.key, &user).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the authorization is expired"), "{text}");
}

/// Two instances on one PostgreSQL database: a session opened through A is cut when
/// the authorization is canceled through B.
#[tokio::test]
async fn a_cancel_through_another_instance_cuts_within_two_seconds() {
    if !on_postgres_or_skip("a_cancel_through_another_instance_cuts_within_two_seconds") {
        return;
    }
    let (s, b) = setup_with_twin().await;
    // Both instances present the same host key.
    assert_eq!(
        describe(&s.w).await,
        describe(&b).await,
        "instances on one database share the broker host key"
    );
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let mut cmd = ssh(&s.broker, &s.key, &format!("eng:{detail}"));
    cmd.arg("echo started; sleep 600");
    let mut running = Running::spawn(cmd);
    running.wait_for("started", 1).await;
    let r = b.act("bob", &id, "cancel", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    running
        .assert_cut_after("the cancel on the other instance", "canceled")
        .await;
}

async fn describe(w: &World) -> String {
    let key = w
        .app
        .broker_host_key(support_access::domain::audit::Actor::system())
        .await
        .unwrap();
    support_access::broker::describe_host_key(&key).1
}

/// A session never outlives the window, nor the engineer's account.
#[tokio::test]
async fn the_window_end_and_a_disabled_engineer_cut_live_sessions() {
    let s = setup().await;
    let now = s.w.app.clock.now().as_millisecond();
    let (id, detail) = raise(&s.w).await;
    confirm(
        &s.w,
        &id,
        detail,
        &s.sshd,
        Some((now - 1000, now + 3_600_000)),
    )
    .await;
    let user = format!("eng:{detail}");
    let start = |s: &Setup| {
        let mut cmd = ssh(&s.broker, &s.key, &user);
        cmd.arg("echo started; sleep 600");
        Running::spawn(cmd)
    };

    let mut running = start(&s);
    running.wait_for("started", 1).await;
    s.w.app.clock.advance(jiff::SignedDuration::from_hours(2));
    running
        .assert_cut_after("the window closed", "window is not open")
        .await;
    s.w.app.clock.advance(jiff::SignedDuration::from_hours(-2));

    let mut running = start(&s);
    running.wait_for("started", 1).await;
    s.w.app
        .admin(support_access::domain::audit::Actor::cli("test"))
        .set_user_enabled("provider", "eng", false)
        .await
        .unwrap();
    running
        .assert_cut_after(
            "the engineer's account was disabled",
            "your account is disabled",
        )
        .await;
    eventually("both sessions closed", || async {
        let list = sessions(&s.w, &id, detail).await;
        list.len() == 2 && list.iter().all(|x| x["end_time"].is_string())
    })
    .await;
    let mut reasons: Vec<String> = sessions(&s.w, &id, detail)
        .await
        .iter()
        .map(|x| x["close_reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "the authorization's access window is not open now",
            "your account is disabled"
        ]
    );
    let events = audit_kinds(&s.w).await;
    assert!(
        events.iter().any(|(k, note)| k == "session_closed"
            && note.ends_with("reason=\"your account is disabled\"")),
        "{events:?}"
    );
}

#[tokio::test]
async fn engineers_manage_their_own_ssh_keys() {
    let w = World::new().await;
    let key = EngineerKey::new();
    let post = |user: &'static str, body: Value| {
        let w = &w;
        async move {
            w.call(
                "POST",
                "/provider/v1/ssh-keys",
                Some(w.token(user)),
                Some(body),
            )
            .await
        }
    };
    for bad in [
        json!({}),
        json!({"public_key": "ssh-ed25519 AAAA"}),
        json!({"public_key": 7}),
    ] {
        let r = post("eng", bad).await;
        assert_eq!((r.status, r.code()), (400, "OSM.01010001"), "{}", r.raw);
    }
    // RSA below 3072 bits is refused.
    let rsa = russh::keys::PrivateKey::from_openssh(include_str!("fixtures/rsa_host_key"))
        .unwrap()
        .public_key()
        .to_openssh()
        .unwrap();
    assert_eq!(post("eng", json!({"public_key": rsa})).await.status, 400);
    let r = post("eng", json!({"public_key": key.public_line})).await;
    assert_eq!(r.status, 201, "{}", r.raw);
    let fingerprint = r.body["fingerprint"].as_str().unwrap().to_owned();
    assert!(fingerprint.starts_with("SHA256:"));
    // One key, one engineer.
    assert_eq!(
        post("eng", json!({"public_key": key.public_line}))
            .await
            .status,
        409
    );
    assert_eq!(
        post("eng2", json!({"public_key": key.public_line}))
            .await
            .status,
        409
    );
    // Customers have no keys here.
    assert_eq!(
        post("bob", json!({"public_key": key.public_line}))
            .await
            .status,
        403
    );

    let list = |user: &'static str| {
        let w = &w;
        async move {
            w.call("GET", "/provider/v1/ssh-keys", Some(w.token(user)), None)
                .await
                .body["ssh_keys"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!((list("eng").await, list("eng2").await), (1, 0));
    let delete = |user: &'static str| {
        let w = &w;
        let path = format!(
            "/provider/v1/ssh-keys?fingerprint={}",
            fingerprint.replace('+', "%2B").replace('/', "%2F")
        );
        async move {
            w.call("DELETE", &path, Some(w.token(user)), None)
                .await
                .status
        }
    };
    assert_eq!(
        delete("eng2").await,
        404,
        "another engineer's key reads as absent"
    );
    assert_eq!(delete("eng").await, 200);
    assert_eq!(list("eng").await, 0);
}
