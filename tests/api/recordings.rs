//! Terminal recordings, the live view and terminate, end to end: OpenSSH's `ssh` as the
//! engineer through the broker to OpenSSH's `sshd`, a customer downloading, watching
//! (a real WebSocket client) and terminating.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::broker::{
    Setup, confirm, eventually, interactive_shell, raise, sessions, setup, setup_with_twin,
};
use crate::broker_host::{Running, ssh};
use crate::helpers::{World, on_postgres_or_skip};

fn session_path(id: &str, detail: i64, session: i64, what: &str) -> String {
    format!(
        "/v2/servicerequest/authorizations/{id}/authorization-details/{detail}/sessions/{session}/{what}"
    )
}

/// The first session of the detail that is open (`open`) or closed, once listed so.
async fn wait_for_session(w: &World, id: &str, detail: i64, open: bool) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = sessions(w, id, detail)
            .await
            .iter()
            .find(|s| s["end_time"].is_string() != open)
            .and_then(|s| s["session_id"].as_i64());
        if let Some(session) = found {
            return session;
        }
        assert!(Instant::now() < deadline, "no such session");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_session(w: &World, id: &str, detail: i64) -> i64 {
    wait_for_session(w, id, detail, true).await
}

async fn get_raw(w: &World, path: &str, user: &str) -> reqwest::Response {
    w.client
        .get(format!("{}{path}", w.base))
        .header("X-Auth-Token", w.token(user))
        .send()
        .await
        .unwrap()
}

type Viewer =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn viewer(w: &World, path: &str, user: &str) -> Result<Viewer, u16> {
    let url = format!("{}{path}", w.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("X-Auth-Token", w.token(user).parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// Reads text messages until one contains `needle`; every line read.
async fn read_until(socket: &mut Viewer, needle: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in {lines:?}"));
        if let Some(Ok(Message::Text(text))) = message {
            let found = text.contains(needle);
            lines.push(text.to_string());
            if found {
                return lines;
            }
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

const TYPED_PASSWORD: &str = "Typed-Secret-4711";

#[tokio::test]
async fn a_shell_is_recorded_and_watched_live_without_what_was_typed_unseen() {
    let s = setup().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let mut shell = interactive_shell(&s, detail).await;
    let session = open_session(&s.w, &id, detail).await;
    let live = session_path(&id, detail, session, "live");

    // Another tenant's customer sees none of it.
    assert_eq!(viewer(&s.w, &live, "gina").await.err(), Some(404));
    for what in ["recording", "terminate"] {
        let path = session_path(&id, detail, session, what);
        let method = if what == "terminate" { "POST" } else { "GET" };
        let r = s.w.call(method, &path, Some(s.w.token("gina")), None).await;
        assert_eq!(
            (r.status, r.code()),
            (404, "OSM.01010101"),
            "{what}: {}",
            r.raw
        );
    }

    // The viewer starts with the header and the screen as it stands (the prompt).
    let mut socket = viewer(&s.w, &live, "bob").await.unwrap();
    let first = read_until(&mut socket, "$ ").await;
    let header: Value = serde_json::from_str(&first[0]).unwrap();
    assert_eq!(header["version"], 2, "{first:?}");
    // The command's output, not its echo: the viewer sees it as it is produced.
    let typed = Instant::now();
    shell.send(b"echo marker-$((6*7))\r");
    read_until(&mut socket, "marker-42").await;
    let latency = typed.elapsed();
    assert!(latency < Duration::from_millis(500), "{latency:?}");
    shell.wait_for("marker-42", 1).await;

    // A password typed at a prompt that does not echo is never recorded.
    shell.send(b"read -s -p 'password: ' pw; echo; echo \"got ${#pw} chars\"\r");
    shell.wait_for("password: ", 1).await;
    shell.send(format!("{TYPED_PASSWORD}\r").as_bytes());
    shell.wait_for("got 17 chars", 1).await;
    shell.send(b"exit\r");
    assert!(shell.exited_within(Duration::from_secs(10)).await.is_some());
    eventually("the session closed", || async {
        sessions(&s.w, &id, detail)
            .await
            .iter()
            .all(|x| x["end_time"].is_string())
    })
    .await;
    // The end of the session closes the live view.
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|f| f.reason.to_string());
            }
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(end.as_deref(), Some("session ended"));

    let path = session_path(&id, detail, session, "recording");
    let r = get_raw(&s.w, &path, "bob").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-asciicast");
    let announced = r.headers()["x-recording-sha256"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = r.bytes().await.unwrap();
    assert_eq!(sha256_hex(&body), announced);
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert!(header["width"].as_u64().unwrap() > 0 && header["height"].as_u64().unwrap() > 0);
    let mut last = 0.0;
    let mut output = String::new();
    for line in lines {
        let event: (f64, String, String) = serde_json::from_str(line).unwrap();
        assert!(event.0 >= last, "times go back at {line}");
        last = event.0;
        assert!(["o", "r"].contains(&event.1.as_str()), "{line}");
        if event.1 == "o" {
            output.push_str(&event.2);
        }
    }
    assert!(output.contains("marker-42") && output.contains("got 17 chars"));
    assert!(
        !text.contains(TYPED_PASSWORD),
        "the typed password was recorded"
    );

    // The hash is in the audit event that closed the session.
    let chains = s.w.app.store_for_inspection().audit_chains().await.unwrap();
    let closed = chains
        .iter()
        .flat_map(|c| &c.events)
        .find(|e| e.draft.kind == "session_closed")
        .unwrap();
    assert!(
        closed
            .draft
            .note
            .contains(&format!("recording_sha256={announced}")),
        "{}",
        closed.draft.note
    );
    // … and in `session.closed`, written with it.
    let events =
        s.w.app
            .store_for_inspection()
            .outbox_after(0, 100)
            .await
            .unwrap();
    let names: Vec<_> = events.iter().map(|e| e.draft.event_type.name()).collect();
    assert!(names.contains(&"session.opened"), "{names:?}");
    let closed = events
        .iter()
        .find(|e| e.draft.event_type.name() == "session.closed")
        .unwrap();
    assert_eq!(closed.draft.sha256.as_deref(), Some(announced.as_str()));
    assert_eq!(closed.draft.close_reason.as_deref(), Some("disconnected"));

    // The transcript: the output as text, escape sequences gone.
    let r = get_raw(&s.w, &format!("{path}?format=text"), "bob").await;
    assert_eq!(r.status(), 200);
    let transcript = r.text().await.unwrap();
    assert!(transcript.contains("marker-42"), "{transcript}");
    assert!(!transcript.contains('\x1b') && !transcript.contains(TYPED_PASSWORD));
    let r =
        s.w.call(
            "GET",
            &format!("{path}?format=mp4"),
            Some(s.w.token("bob")),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "OSM.01010001"), "{}", r.raw);
    // Over, the session can no longer be watched.
    let r = s.w.call("GET", &live, Some(s.w.token("bob")), None).await;
    assert_eq!(r.status, 409, "{}", r.raw);
}

#[tokio::test]
async fn a_customer_terminates_one_session_and_the_engineer_reads_why() {
    let s = setup().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let start = |s: &Setup| {
        let mut cmd = ssh(&s.broker, &s.key, &format!("eng:{detail}"));
        cmd.arg("echo started; sleep 600");
        Running::spawn(cmd)
    };
    let mut first = start(&s);
    first.wait_for("started", 1).await;
    let session = open_session(&s.w, &id, detail).await;
    let mut second = start(&s);
    second.wait_for("started", 1).await;

    let path = session_path(&id, detail, session, "terminate");
    let long = json!({"reason": "x".repeat(301)});
    let r =
        s.w.call("POST", &path, Some(s.w.token("bob")), Some(long))
            .await;
    assert_eq!((r.status, r.code()), (400, "OSM.01010001"), "{}", r.raw);
    let reason = json!({"reason": "enough for today"});
    let r =
        s.w.call("POST", &path, Some(s.w.token("bob")), Some(reason))
            .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let asked = Instant::now();
    assert!(
        first.exited_within(Duration::from_secs(2)).await.is_some(),
        "still connected 2 s after the terminate"
    );
    assert!(asked.elapsed() <= Duration::from_secs(2));
    assert!(
        first
            .text()
            .contains("session closed: terminated by the customer: enough for today"),
        "{}",
        first.text()
    );
    // Only that session: the other runs on, and the authorization stays authorized.
    assert!(
        second
            .exited_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    assert_eq!(s.w.status(&id).await.code(), 1);
    let chains = s.w.app.store_for_inspection().audit_chains().await.unwrap();
    let event = chains
        .iter()
        .flat_map(|c| &c.events)
        .find(|e| e.draft.kind == "session_terminate")
        .unwrap();
    assert_eq!(event.draft.actor_name, "bob");
    assert_eq!(event.draft.reason.as_deref(), Some("enough for today"));
    eventually("the terminated session closed", || async {
        sessions(&s.w, &id, detail)
            .await
            .iter()
            .any(|x| x["session_id"] == session && x["end_time"].is_string())
    })
    .await;
    let r = s.w.call("POST", &path, Some(s.w.token("bob")), None).await;
    assert_eq!(r.status, 409, "a closed session: {}", r.raw);
    let events =
        s.w.app
            .store_for_inspection()
            .outbox_after(0, 100)
            .await
            .unwrap();
    let reasons: Vec<_> = events
        .iter()
        .filter_map(|e| e.draft.close_reason.as_deref())
        .collect();
    assert_eq!(reasons, ["terminated"]);
    assert!(
        events
            .iter()
            .any(|e| e.draft.event_type.name() == "session.terminated")
    );

    // A cancel still ends them all.
    let r = s.w.act("bob", &id, "cancel", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(second.exited_within(Duration::from_secs(2)).await.is_some());
}

/// Two instances on one PostgreSQL database: a session on A is terminated through B.
#[tokio::test]
async fn a_terminate_through_another_instance_cuts_within_two_seconds() {
    if !on_postgres_or_skip("a_terminate_through_another_instance_cuts_within_two_seconds") {
        return;
    }
    let (s, b) = setup_with_twin().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let mut running = interactive_shell(&s, detail).await;
    let session = open_session(&s.w, &id, detail).await;
    // The view is served by the instance holding the session; the other one says so.
    let live = session_path(&id, detail, session, "live");
    let r = b.call("GET", &live, Some(b.token("bob")), None).await;
    assert_eq!(r.status, 409, "{}", r.raw);
    assert!(r.msg().contains("another instance"), "{}", r.raw);

    let path = session_path(&id, detail, session, "terminate");
    let r = b.call("POST", &path, Some(b.token("bob")), None).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    running
        .assert_cut_after(
            "the terminate on the other instance",
            "terminated by the customer",
        )
        .await;
}

#[tokio::test]
async fn recordings_past_retention_are_dropped_and_the_audit_chain_still_verifies() {
    let s = setup().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let mut cmd = ssh(&s.broker, &s.key, &format!("eng:{detail}"));
    cmd.args(["-tt", "echo recorded-$((2+3))"]);
    let mut run = Running::spawn(cmd);
    assert!(run.exited_within(Duration::from_secs(10)).await.is_some());
    assert!(run.text().contains("recorded-5"));
    let session = wait_for_session(&s.w, &id, detail, false).await;
    let path = session_path(&id, detail, session, "recording");
    let r = get_raw(&s.w, &format!("{path}?format=text"), "bob").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("recorded-5"));

    // Not yet: within the retention nothing goes.
    assert_eq!(s.w.app.purge_recordings().await.unwrap(), 0);
    s.w.app
        .clock
        .advance(jiff::SignedDuration::from_hours(24 * 181));
    assert_eq!(s.w.app.purge_recordings().await.unwrap(), 1);
    let r = s.w.call("GET", &path, Some(s.w.token("bob")), None).await;
    assert_eq!(r.status, 409, "{}", r.raw);
    assert!(r.msg().contains("retention"), "{}", r.raw);
    assert!(
        s.w.audit_verifies().await,
        "the audit chain no longer verifies"
    );
    let chains = s.w.app.store_for_inspection().audit_chains().await.unwrap();
    let kinds: Vec<_> = chains
        .iter()
        .flat_map(|c| &c.events)
        .map(|e| e.draft.kind.as_str())
        .collect();
    assert!(kinds.contains(&"session_recording_purged"), "{kinds:?}");
    assert_eq!(s.w.app.purge_recordings().await.unwrap(), 0);
}
