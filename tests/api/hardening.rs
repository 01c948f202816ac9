//! What an attacker probing the service found, each pinned by a test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::check_hosts::{UNREACHABLE, audit_notes, login, verify};
use crate::helpers::{Resp, TestServer, World, client_from, password_of};
use crate::signing::Signer;
use crate::ssh_host::{ACCOUNT, Gauge, PASSWORD, silent_host};

fn login_body(domain: &str, user: &str, password: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": domain}}}},
        "scope": {"domain": {"name": domain}}}})
}

async fn login_from(w: &World, client: &reqwest::Client, user: &str, password: &str) -> Resp {
    let req = client
        .post(format!("{}/v3/auth/tokens", w.base))
        .json(&login_body("acme", user, password));
    w.send(req).await
}

/// Finding 2: failed logins for one name back off exponentially (429 with
/// `Retry-After`), even for the right password, and the wait ends by itself.
#[tokio::test]
async fn failed_logins_for_a_name_back_off_exponentially() {
    let w = World::new().await;
    let client = client_from("127.0.0.4");
    for _ in 0..5 {
        assert_eq!(
            login_from(&w, &client, "bob", "wrong-password")
                .await
                .status,
            401
        );
    }
    // The sixth failure starts the wait.
    assert_eq!(
        login_from(&w, &client, "bob", "wrong-password")
            .await
            .status,
        401
    );
    let r = login_from(&w, &client, "bob", &password_of("bob")).await;
    assert_eq!((r.status, r.code()), (429, "OSM.01010104"), "{}", r.raw);
    assert_eq!(r.retry_after.as_deref(), Some("1"));
    // From elsewhere too: the name is throttled, not only the source.
    let r = login_from(&w, &client_from("127.0.0.5"), "bob", &password_of("bob")).await;
    assert_eq!(r.status, 429);
    // Another name is not.
    assert_eq!(
        login_from(&w, &client, "carol", &password_of("carol"))
            .await
            .status,
        201
    );

    w.app.clock.advance(SignedDuration::from_secs(1));
    assert_eq!(
        login_from(&w, &client, "bob", "wrong-password")
            .await
            .status,
        401
    );
    let r = login_from(&w, &client, "bob", &password_of("bob")).await;
    assert_eq!(r.retry_after.as_deref(), Some("2"), "the wait doubled");

    // Never a lock: after the longest wait the right password works.
    w.app.clock.advance(SignedDuration::from_mins(1));
    assert_eq!(
        login_from(&w, &client, "bob", &password_of("bob"))
            .await
            .status,
        201
    );
    assert_eq!(
        login_from(&w, &client, "bob", "wrong-password")
            .await
            .status,
        401,
        "success forgot the failures"
    );
}

/// Finding 2: one source trying many names is throttled, others are not.
#[tokio::test]
async fn failed_logins_from_one_source_back_off() {
    let w = World::new().await;
    let sprayer = client_from("127.0.0.6");
    let mut statuses = Vec::new();
    for i in 0..22 {
        statuses.push(
            login_from(&w, &sprayer, &format!("user{i}"), "wrong-password")
                .await
                .status,
        );
    }
    assert_eq!(statuses[..21], [401; 21], "{statuses:?}");
    assert_eq!(statuses[21], 429, "{statuses:?}");
    let r = login_from(&w, &sprayer, "carol", &password_of("carol")).await;
    assert_eq!(r.status, 429, "the source waits, whatever the name");
    assert_eq!(
        login_from(&w, &w.client, "carol", &password_of("carol"))
            .await
            .status,
        201
    );
}

/// Finding 4: by default, hosts resolving to loopback, link-local, multicast,
/// unspecified or this host's own addresses are refused at raise.
#[tokio::test]
async fn raise_refuses_hosts_outside_the_target_networks() {
    let server = TestServer::start_with(|s| s.target_networks = None).await;
    let w = World::on(server).await;
    for host in [
        "127.0.0.1",
        "localhost",
        "169.254.169.254",
        "0.0.0.0",
        "127.1",
        "2130706433",
        "::1",
    ] {
        let r = raise_with_host(&w, host).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "OSM.01010001"),
            "{host}: {}",
            r.raw
        );
        assert!(r.msg().contains("details[0].host"), "{host}: {}", r.raw);
    }
    assert_eq!(raise_with_host(&w, "10.1.2.3").await.status, 201);
    // A name that does not resolve now is judged again at connect time.
    assert_eq!(
        raise_with_host(&w, "metadata.google.internal").await.status,
        201
    );
}

async fn raise_with_host(w: &World, host: &str) -> Resp {
    let body = json!({
        "customer_id": w.ids["acme"], "x_customer_id": w.ids["bob"],
        "incident_id": "CS-TEST-1", "simple_description": "disk full",
        "auth_describe": "clean logs", "resource_type_id": "1", "visit_type_id": "1",
        "content_type_id": "1", "content_of_auth_letter": "I promise.",
        "details": [{"type": 1, "instance_id": "ecs-1", "host": host, "port": 22}]
    });
    w.call(
        "POST",
        "/provider/v1/authorizations",
        Some(w.token("eng")),
        Some(body),
    )
    .await
}

/// Finding 4: CheckHosts resolves again at connect time and does not connect to a
/// refused address; the caller hears "unreachable", the audit the precise cause.
#[tokio::test]
async fn check_hosts_connects_only_inside_the_target_networks() {
    let server = TestServer::start_with(|s| s.target_networks = None).await;
    let w = World::on(server).await;
    let (_, details) = w.raise_as("eng", "bob").await;
    let gauge = Arc::new(Gauge::default());
    let listener = silent_host(vec![gauge.clone()]).await;
    // The name now points inward (as a DNS record changed after the raise would).
    w.execute_behind_the_back("UPDATE authorization_details SET host = 'localhost'")
        .await;
    let r = verify(
        &w,
        "bob",
        details[0],
        login(listener.port, ACCOUNT, PASSWORD),
        "en-us",
    )
    .await;
    assert_eq!((r.status, r.code()), (200, "OSM.01010010"), "{}", r.raw);
    assert_eq!(r.msg(), UNREACHABLE);
    // Answered at the check timeout like every "unreachable"; refused before connecting.
    assert_eq!(gauge.max(), 0, "nothing connected to the refused address");
    let notes = audit_notes(&w, "host_check").await;
    assert!(
        notes
            .last()
            .unwrap()
            .contains("outcome=unreachable cause=target_not_allowed("),
        "{notes:?}"
    );
}

/// Finding 5: disabling a user deletes their tokens and temporary keys; enabling
/// again revives neither.
#[tokio::test]
async fn disabling_a_user_ends_their_tokens_and_temporary_keys_for_good() {
    let w = World::new().await;
    let temporary = w
        .admin()
        .create_temporary_access_key("acme", "bob", SignedDuration::from_hours(1))
        .await
        .unwrap();
    let path = "/v2/servicerequest/authorizations";
    let by_token = || w.call("GET", path, Some(w.token("bob")), None);
    assert_eq!(by_token().await.status, 200);
    assert_eq!(
        Signer::new(&w, &temporary)
            .send("GET", path, None)
            .await
            .status,
        200
    );

    w.admin()
        .set_user_enabled("acme", "bob", false)
        .await
        .unwrap();
    w.admin()
        .set_user_enabled("acme", "bob", true)
        .await
        .unwrap();
    assert_eq!(by_token().await.status, 401, "the old token stays dead");
    assert_eq!(
        Signer::new(&w, &temporary)
            .send("GET", path, None)
            .await
            .status,
        401,
        "the temporary key is gone"
    );
    let keys = w.app.list_access_keys("acme", "bob").await.unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    // A fresh login works; others' tokens were untouched.
    w.login("acme", "bob", &password_of("bob")).await;
    assert_eq!(
        w.call("GET", path, Some(w.token("carol")), None)
            .await
            .status,
        200
    );
}

/// Finding 7: access is personal; a provider admin may see and recall another
/// engineer's request but not open a session on it.
#[tokio::test]
async fn only_the_submitting_engineer_opens_sessions() {
    let w = World::new().await;
    let (id, details) = w.raise_as("eng", "bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    let sessions = format!(
        "/provider/v1/authorizations/{id}/details/{}/sessions",
        details[0]
    );
    let shown = w
        .call(
            "GET",
            &format!("/provider/v1/authorizations/{id}"),
            Some(w.token("lead")),
            None,
        )
        .await;
    assert_eq!(shown.status, 200, "the admin sees it");
    let r = w.call("POST", &sessions, Some(w.token("lead")), None).await;
    assert_eq!(r.status, 404, "{}", r.raw);
    let r = w.call("POST", &sessions, Some(w.token("eng2")), None).await;
    assert_eq!(r.status, 404, "{}", r.raw);
    let r = w.call("POST", &sessions, Some(w.token("eng")), None).await;
    assert_eq!(r.status, 201, "{}", r.raw);
}

/// Finding 9: a scope naming another domain is refused with 401, as Keystone does.
#[tokio::test]
async fn a_login_scoped_to_another_domain_is_refused() {
    let w = World::new().await;
    let login = |scope: Value| {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "bob", "password": password_of("bob"), "domain": {"name": "acme"}}}},
            "scope": scope}});
        w.call("POST", "/v3/auth/tokens", None, Some(body))
    };
    let r = login(json!({"domain": {"name": "globex"}})).await;
    assert_eq!((r.status, r.code()), (401, "APIGW.0301"), "{}", r.raw);
    let r = login(json!({"domain": {"id": w.ids["globex"]}})).await;
    assert_eq!(r.status, 401, "{}", r.raw);
    assert_eq!(login(json!({"domain": {"name": "acme"}})).await.status, 201);
    assert_eq!(
        login(json!({"domain": {"id": w.ids["acme"]}})).await.status,
        201
    );
    assert_eq!(login(json!({"domain": {}})).await.status, 400);
}

/// The server's address for raw TCP.
fn address(w: &TestServer) -> String {
    w.base.trim_start_matches("http://").to_owned()
}

/// Reads from `stream` until the server closes it or `within` passes; `None` if it
/// was still open then.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut seen = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read_all).await.ok()?;
    Some(String::from_utf8_lossy(&seen).into_owned())
}

/// Finding 10: a client dribbling its headers, or idling between requests, is
/// disconnected after `header_read_timeout`.
#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    let w = TestServer::start_with(|s| s.header_read_timeout = Duration::from_secs(1)).await;
    let mut dribbler = TcpStream::connect(address(&w)).await.unwrap();
    dribbler
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut dribbler, Duration::from_secs(5))
            .await
            .is_some(),
        "headers never finished: closed"
    );

    let mut idler = TcpStream::connect(address(&w)).await.unwrap();
    idler
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = read_until_closed(&mut idler, Duration::from_secs(5)).await;
    let answered = answered.expect("an idle keep-alive connection is closed");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
}

/// Finding 10: at most `max_connections` are served at once; the next waits its turn.
#[tokio::test]
async fn connections_beyond_the_limit_wait() {
    let w = TestServer::start_with(|s| s.max_connections = 2).await;
    let held: Vec<TcpStream> =
        futures_util::future::join_all((0..2).map(|_| TcpStream::connect(address(&w))))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(address(&w)).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_until_closed(&mut third, Duration::from_millis(500)).await,
        None,
        "not served while two connections are open"
    );
    drop(held);
    let answer = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Findings 10 and 11: a body declared too large is refused before it is sent; an
/// oversized target or header section gets the error body; every answer says
/// `no-store` and `nosniff`.
#[tokio::test]
async fn oversized_requests_are_refused_from_the_head_with_the_error_body() {
    let w = TestServer::start().await;
    let mut stream = TcpStream::connect(address(&w)).await.unwrap();
    stream
        .write_all(
            b"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 10000000\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut head))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let head = String::from_utf8_lossy(&head[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("OSM.01010103"), "{head}");

    let long_path = format!("/v2/servicerequest/authorizations?x={}", "a".repeat(10_000));
    let r = w.call("GET", &long_path, None, None).await;
    assert_eq!((r.status, r.code()), (414, "OSM.01010001"), "{}", r.raw);
    let req = w
        .client
        .get(format!("{}/healthz", w.base))
        .header("X-Padding", "p".repeat(40_000));
    let r = w.send(req).await;
    assert_eq!((r.status, r.code()), (431, "OSM.01010001"), "{}", r.raw);

    let res = w
        .client
        .get(format!("{}/healthz", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

/// Finding 11: an authorization window cannot start years ahead.
#[tokio::test]
async fn a_window_starting_in_the_year_5000_is_refused() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    let mut body = World::grant(&details, "host-password");
    body["auth_effective_time"] = json!(95_617_584_000_000_i64);
    body["auth_expire_time"] = json!(95_617_670_400_000_i64);
    let r = w
        .call(
            "PUT",
            &format!("/v2/servicerequest/authorizations/{id}"),
            Some(w.token("bob")),
            Some(body),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "OSM.01010001"), "{}", r.raw);
    assert!(r.msg().contains("auth_effective_time"), "{}", r.raw);
}

/// Finding 8: recorded times must fall inside the session; control characters are
/// stored as sent and flagged in the audit.
#[tokio::test]
async fn history_outside_the_session_is_refused_and_control_characters_flagged() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    let base = format!(
        "/provider/v1/authorizations/{id}/details/{}/sessions",
        details[0]
    );
    let eng = w.token("eng");
    let opened = w.call("POST", &base, Some(eng), None).await;
    let sid = opened.body["session_id"].as_i64().unwrap();
    let ops_path = format!("{base}/{sid}/operations");
    let append = |oper: &str, at: &str| {
        let body = json!({"operations": [{"oper": oper, "operate_time": at}]});
        w.call("POST", &ops_path, Some(eng), Some(body))
    };
    for at in ["2099-01-01T00:00:00Z", "2000-01-01T00:00:00Z"] {
        let r = append("ls", at).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "OSM.01010001"),
            "{at}: {}",
            r.raw
        );
    }
    let now = w.app.clock.now().to_string();
    let r = append("printf '\u{1b}[2J'\r\nrm -rf /", &now).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let notes = audit_notes(&w, "operations_recorded").await;
    assert!(
        notes.iter().any(|n| n.contains("control_characters=1")),
        "{notes:?}"
    );
}

/// Finding 8, the lower bound: a session records what happened since it started (give
/// or take the skew), not since the longest window could have begun.
#[tokio::test]
async fn history_from_before_the_session_started_is_refused() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    let base = format!(
        "/provider/v1/authorizations/{id}/details/{}/sessions",
        details[0]
    );
    let eng = w.token("eng");
    let started = w.app.clock.now();
    let opened = w.call("POST", &base, Some(eng), None).await;
    assert_eq!(opened.status, 201, "{}", opened.raw);
    let sid = opened.body["session_id"].as_i64().unwrap();
    w.app.clock.advance(SignedDuration::from_mins(40));
    let at = |minutes: i64| (started + SignedDuration::from_mins(minutes)).to_string();
    let ops = |t: &str| json!({"operations": [{"oper": "ls", "operate_time": t}]});
    let files = |t: &str| {
        json!({"file_transfers": [{"operate_type": "upload", "file_name": "a", "from_path": "/a",
            "to_path": "/b", "file_size_bytes": 1, "duration_ms": 1, "oper_result": "success",
            "operate_time": t}]})
    };
    for (what, body) in [
        ("operations", ops as fn(&str) -> Value),
        ("file-transfers", files),
    ] {
        let path = format!("{base}/{sid}/{what}");
        // Half an hour before the session: well inside `max_window` of now, yet refused.
        let r = w.call("POST", &path, Some(eng), Some(body(&at(-30)))).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "OSM.01010001"),
            "{what}: {}",
            r.raw
        );
        assert!(r.msg().contains("operate_time"), "{what}: {}", r.raw);
        // Inside the skew allowance before the start, and during the session: kept.
        for minutes in [-4, 20] {
            let r = w
                .call("POST", &path, Some(eng), Some(body(&at(minutes))))
                .await;
            assert_eq!(r.status, 200, "{what} at {minutes} min: {}", r.raw);
        }
    }
}

/// Finding 4, timing: every "unreachable" answer takes the check's timeout, so a closed
/// port, a web server and a silent address cannot be told apart by the clock either;
/// a login that succeeds is not held back.
#[tokio::test]
async fn unreachable_answers_take_the_same_time_whatever_the_cause() {
    let timeout = Duration::from_secs(2);
    let w = World::on(TestServer::start_with(|s| s.check_timeout = timeout).await).await;
    let (_, local) = w.raise_on("eng", "bob", "127.0.0.1").await;
    // Inside target_networks (10/8) and routed nowhere: no answer ever comes.
    let (_, blackholed) = w.raise_on("eng", "bob", "10.255.255.1").await;
    let closed = crate::ssh_host::closed_port().await;
    let web = crate::ssh_host::http_server().await;
    let silent = silent_host(vec![]).await;
    let cases = [
        ("closed port", local[0], closed),
        ("web server", local[0], web.port),
        ("silent port", local[0], silent.port),
        ("blackholed address", blackholed[0], 22),
    ];
    let mut answers = Vec::new();
    for (what, detail, port) in cases {
        let started = Instant::now();
        let r = verify(&w, "bob", detail, login(port, ACCOUNT, PASSWORD), "en-us").await;
        let took = started.elapsed();
        assert_eq!((r.status, r.msg()), (200, UNREACHABLE), "{what}: {}", r.raw);
        answers.push((what, took, r.raw));
    }
    let tolerance = Duration::from_millis(600);
    for (what, took, raw) in &answers {
        assert!(
            *took >= timeout && *took < timeout + tolerance,
            "{what} took {took:?}"
        );
        assert_eq!(raw, &answers[0].2, "{what}: the same body");
    }
    let ssh = crate::ssh_host::ssh_server(
        crate::ssh_host::host_key().0,
        &[russh::MethodKind::Password],
    )
    .await;
    let started = Instant::now();
    let r = verify(
        &w,
        "bob",
        local[0],
        login(ssh.host.port, ACCOUNT, PASSWORD),
        "en-us",
    )
    .await;
    assert_eq!((r.status, &r.body), (200, &json!({})), "{}", r.raw);
    assert!(started.elapsed() < timeout, "a success is not padded");
}

/// Finding 6: a signed write is good for one use, on every instance; reads may repeat.
#[tokio::test]
async fn replayed_signed_writes_are_refused_on_every_instance() {
    let w = World::new().await;
    let twin = w.start_twin().await;
    let key = w
        .admin()
        .create_access_key("provider", "eng")
        .await
        .unwrap();
    let body = json!({
        "customer_id": w.ids["acme"], "x_customer_id": w.ids["bob"],
        "incident_id": "CS-REPLAY", "simple_description": "disk full",
        "auth_describe": "clean logs", "resource_type_id": "1", "visit_type_id": "1",
        "content_type_id": "1", "content_of_auth_letter": "I promise.",
        "details": [{"type": 0, "instance_id": "console"}]
    });
    let path = "/provider/v1/authorizations";
    let signer = Signer::new(&w, &key);
    let first = signer.send("POST", path, Some(body.clone())).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let again = signer.send("POST", path, Some(body.clone())).await;
    assert_eq!(
        (again.status, again.code()),
        (401, "APIGW.0301"),
        "{}",
        again.raw
    );
    let mut elsewhere = Signer::new(&w, &key);
    elsewhere.target = Some(twin.base.clone());
    let r = elsewhere.send("POST", path, Some(body.clone())).await;
    assert_eq!(
        r.status, 401,
        "the other instance refuses it too: {}",
        r.raw
    );
    let listed = signer.send("GET", path, None).await;
    assert_eq!(listed.body["count"], 1, "one authorization: {}", listed.raw);
    assert_eq!(
        signer.send("GET", path, None).await.status,
        200,
        "reads repeat"
    );

    // A fresh signature (a second later) is a new request.
    w.app.clock.advance(SignedDuration::from_secs(1));
    assert_eq!(signer.send("POST", path, Some(body)).await.status, 201);
}
