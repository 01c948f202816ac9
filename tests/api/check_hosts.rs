//! CheckHosts against real hosts on 127.0.0.1: an in-process SSH server, a closed port,
//! a web server, a host that never answers. Outcomes are 200 bodies (SPEC §1).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use russh::server::Config;
use russh::{MethodKind, MethodSet, Preferred};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestServer, World, captured_logs};
use crate::ssh_host::{
    ACCOUNT, Gauge, PASSWORD, closed_port, host_key, http_server, rsa_host_key, silent_host,
    ssh_server, ssh_server_with,
};

const PASSWORD_ONLY: &[MethodKind] = &[MethodKind::Password];
/// The one answer for every failure to reach an SSH server.
pub(crate) const UNREACHABLE: &str =
    "Host verification failed: no SSH service could be reached at this address and port.";

/// A pending authorization of `submitter` whose host detail is 127.0.0.1:
/// (id, host detail, console detail).
async fn local_host(w: &World, submitter: &str) -> (String, i64, i64) {
    let (id, details) = w.raise_on("eng", submitter, "127.0.0.1").await;
    (id, details[0], details[1])
}

pub(crate) fn login(port: u16, account: &str, password: &str) -> Value {
    json!({"port": port, "account": account, "password": password})
}

pub(crate) async fn verify(
    w: &World,
    user: &str,
    detail: i64,
    body: Value,
    language: &str,
) -> Resp {
    let url = format!(
        "{}/v2/servicerequest/authorizations/authorization-details/{detail}/verify-host",
        w.base
    );
    let req = w
        .client
        .post(url)
        .header("X-Auth-Token", w.token(user))
        .header("X-Language", language)
        .json(&body);
    w.send(req).await
}

pub(crate) async fn pinned_key(w: &World, id: &str) -> Option<String> {
    let r = w
        .call(
            "GET",
            &format!("/provider/v1/authorizations/{id}"),
            Some(w.token("eng")),
            None,
        )
        .await;
    r.body["details"][0]["host_key_fingerprint"]
        .as_str()
        .map(str::to_owned)
}

/// The notes of every audit event of this kind, oldest first.
pub(crate) async fn audit_notes(w: &World, kind: &str) -> Vec<String> {
    let chains = w.app.audit_chains().await.unwrap();
    chains
        .iter()
        .flat_map(|c| &c.events)
        .filter(|e| e.draft.kind == kind)
        .map(|e| e.draft.note.clone())
        .collect()
}

#[tokio::test]
async fn every_outcome_is_reported_as_the_spec_says() {
    let w = World::new().await;
    let (id, detail, _) = local_host(&w, "bob").await;
    let (key, fingerprint) = host_key();
    let ssh = ssh_server(key, PASSWORD_ONLY).await;
    let publickey_only = ssh_server(host_key().0, &[MethodKind::PublicKey]).await;
    let web = http_server().await;
    let closed = closed_port().await;
    let events = w.audit_events().await;

    let cases = [
        (
            login(ssh.host.port, ACCOUNT, "wrong-password"),
            Some("OSM.01010003"),
            "Account and password not matched.",
        ),
        (
            login(ssh.host.port, "nobody", PASSWORD),
            Some("OSM.01010003"),
            "Account and password not matched.",
        ),
        // A closed port and a web server get the same answer: no network mapping.
        (
            login(closed, ACCOUNT, PASSWORD),
            Some("OSM.01010010"),
            UNREACHABLE,
        ),
        (
            login(web.port, ACCOUNT, PASSWORD),
            Some("OSM.01010010"),
            UNREACHABLE,
        ),
        (
            login(publickey_only.host.port, ACCOUNT, PASSWORD),
            Some("OSM.01010010"),
            "does not accept password login",
        ),
        (login(ssh.host.port, ACCOUNT, PASSWORD), None, ""),
    ];
    for (body, code, message) in cases {
        let r = verify(&w, "bob", detail, body.clone(), "en-us").await;
        assert_eq!(
            (r.status, r.body["error_code"].as_str()),
            (200, code),
            "{body}: {}",
            r.raw
        );
        assert!(r.msg().contains(message), "{body}: {}", r.raw);
        if code.is_none() {
            assert_eq!(r.body, json!({}));
        }
    }
    assert_eq!(
        publickey_only.password_attempts.load(Ordering::SeqCst),
        0,
        "a host without password login is not sent the password"
    );
    // In Chinese when asked, like every other message.
    let r = verify(&w, "bob", detail, login(closed, ACCOUNT, PASSWORD), "zh-cn").await;
    assert_eq!(
        r.msg(),
        "主机验证失败：无法连接到该地址和端口上的 SSH 服务。"
    );

    assert_eq!(
        pinned_key(&w, &id).await,
        Some(fingerprint),
        "the accepted login pinned the key"
    );
    assert_eq!(
        w.audit_events().await,
        events + 7,
        "one audit event per check"
    );
    let notes = audit_notes(&w, "host_check").await;
    for outcome in [
        "credentials_refused",
        "unreachable",
        "not_ssh",
        "no_password_auth",
        "login_accepted",
    ] {
        assert!(
            notes
                .iter()
                .any(|n| n.contains(&format!("outcome={outcome}"))),
            "{outcome}: {notes:?}"
        );
    }
    assert!(
        notes
            .iter()
            .all(|n| !n.contains(PASSWORD) && !n.contains("wrong-password"))
    );
    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    assert!(
        !logs.contains(PASSWORD) && !logs.contains("wrong-password"),
        "no password in the log"
    );
    assert!(w.audit_verifies().await);
}

#[tokio::test]
async fn rsa_hosts_log_in_and_foreign_algorithms_are_named() {
    let w = World::new().await;
    let (id, detail, _) = local_host(&w, "bob").await;
    let (rsa_key, rsa_fingerprint) = rsa_host_key();
    let rsa_only = ssh_server(rsa_key.clone(), PASSWORD_ONLY).await;
    // Offers only a key exchange this service refuses (1024-bit group, SHA-1).
    let legacy_only = ssh_server_with(Config {
        keys: vec![rsa_key],
        methods: MethodSet::from(PASSWORD_ONLY),
        preferred: Preferred {
            kex: Cow::Borrowed(&[russh::kex::DH_G1_SHA1]),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let check = |port| verify(&w, "bob", detail, login(port, ACCOUNT, PASSWORD), "en-us");

    let r = check(legacy_only.host.port).await;
    assert_eq!(r.body["error_code"], "OSM.01010010", "{}", r.raw);
    assert!(r.msg().contains("no algorithm in common"), "{}", r.raw);
    assert_eq!(legacy_only.password_attempts.load(Ordering::SeqCst), 0);
    assert_eq!(pinned_key(&w, &id).await, None);

    let r = check(rsa_only.host.port).await;
    assert_eq!((r.status, &r.body), (200, &json!({})), "{}", r.raw);
    assert_eq!(pinned_key(&w, &id).await, Some(rsa_fingerprint));
    let notes = audit_notes(&w, "host_check").await;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("outcome=no_common_algorithm")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_changed_host_key_gets_no_password_until_a_provider_admin_resets_the_pin() {
    let w = World::new().await;
    let (id, detail, _) = local_host(&w, "bob").await;
    let original = ssh_server(host_key().0, PASSWORD_ONLY).await;
    let (new_key, new_fingerprint) = host_key();
    let replaced = ssh_server(new_key, PASSWORD_ONLY).await;
    let r = verify(
        &w,
        "bob",
        detail,
        login(original.host.port, ACCOUNT, PASSWORD),
        "en-us",
    )
    .await;
    assert_eq!(r.body, json!({}), "{}", r.raw);

    let r = verify(
        &w,
        "bob",
        detail,
        login(replaced.host.port, ACCOUNT, PASSWORD),
        "en-us",
    )
    .await;
    assert_eq!((r.status, r.code()), (200, "OSM.01010010"), "{}", r.raw);
    assert_eq!(r.msg(), "Host verification failed: the host key changed.");
    assert_eq!(
        replaced.password_attempts.load(Ordering::SeqCst),
        0,
        "the password was not sent"
    );
    let notes = audit_notes(&w, "host_check").await;
    assert!(
        notes.last().unwrap().contains("outcome=host_key_changed"),
        "{notes:?}"
    );

    // Re-pinning is for provider admins only.
    let reset = format!("/provider/v1/authorizations/{id}/details/{detail}/host-key/reset");
    for (user, status) in [("eng", 403), ("bob", 403), ("lead", 200)] {
        let r = w.call("POST", &reset, Some(w.token(user)), None).await;
        assert_eq!(r.status, status, "{user}: {}", r.raw);
    }
    assert_eq!(pinned_key(&w, &id).await, None);
    assert_eq!(audit_notes(&w, "host_key_reset").await.len(), 1);
    let r = verify(
        &w,
        "bob",
        detail,
        login(replaced.host.port, ACCOUNT, PASSWORD),
        "en-us",
    )
    .await;
    assert_eq!(r.body, json!({}), "{}", r.raw);
    assert_eq!(pinned_key(&w, &id).await, Some(new_fingerprint));
    let r = w
        .call(
            "POST",
            &format!("/provider/v1/authorizations/{id}/details/1/host-key/reset"),
            Some(w.token("lead")),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.raw);
    assert!(w.audit_verifies().await);
}

#[tokio::test]
async fn the_timeout_is_honoured() {
    let setting = Duration::from_secs(1);
    let w = World::on(TestServer::start_with(|s| s.check_timeout = setting).await).await;
    let (_, detail, _) = local_host(&w, "bob").await;
    let silent = silent_host(vec![]).await;
    let started = Instant::now();
    let r = verify(
        &w,
        "bob",
        detail,
        login(silent.port, ACCOUNT, PASSWORD),
        "en-us",
    )
    .await;
    let took = started.elapsed();
    assert_eq!((r.status, r.code()), (200, "OSM.01010010"), "{}", r.raw);
    assert_eq!(
        r.msg(),
        UNREACHABLE,
        "a silent host reads like a closed port"
    );
    let notes = audit_notes(&w, "host_check").await;
    assert!(
        notes.last().unwrap().contains("outcome=timed_out"),
        "{notes:?}"
    );
    assert!(
        took >= setting && took < setting + Duration::from_secs(1),
        "took {took:?}"
    );
}

#[tokio::test]
async fn a_check_is_audited_even_if_the_caller_hangs_up() {
    let w =
        World::on(TestServer::start_with(|s| s.check_timeout = Duration::from_secs(1)).await).await;
    let (_, detail, _) = local_host(&w, "bob").await;
    let silent = silent_host(vec![]).await;
    let events = w.audit_events().await;
    let url = format!(
        "{}/v2/servicerequest/authorizations/authorization-details/{detail}/verify-host",
        w.base
    );
    let hung_up = w
        .client
        .post(url)
        .header("X-Auth-Token", w.token("bob"))
        .json(&login(silent.port, ACCOUNT, PASSWORD))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(hung_up.is_err(), "the client gave up first");
    let audited = async {
        while w.audit_events().await == events {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), audited)
        .await
        .expect("the abandoned check is audited");
    let notes = audit_notes(&w, "host_check").await;
    assert!(notes[0].contains("outcome=timed_out"), "{notes:?}");
}

#[tokio::test]
async fn requests_are_validated_and_scoped_like_every_other_route() {
    let w = World::new().await;
    let (id, detail, console) = local_host(&w, "bob").await;
    let closed = closed_port().await;
    let invalid = [
        (json!({"account": "a", "password": "p"}), "port"),
        (json!({"port": 0, "account": "a", "password": "p"}), "port"),
        (
            json!({"port": 65536, "account": "a", "password": "p"}),
            "port",
        ),
        (
            json!({"port": "22", "account": "a", "password": "p"}),
            "port",
        ),
        (json!({"port": 22, "password": "p"}), "account"),
        (
            json!({"port": 22, "account": "a".repeat(65), "password": "p"}),
            "account",
        ),
        (json!({"port": 22, "account": "a"}), "password"),
        (
            json!({"port": 22, "account": "a", "password": ""}),
            "password",
        ),
        (
            json!({"port": 22, "account": "a", "password": "p".repeat(1025)}),
            "password",
        ),
        (
            json!({"port": 22, "account": "a", "password": "p", "group_id": "g".repeat(65)}),
            "group_id",
        ),
    ];
    for (body, field) in invalid {
        let r = verify(&w, "bob", detail, body.clone(), "en-us").await;
        assert_eq!(
            (r.status, r.code()),
            (400, "OSM.01010001"),
            "{body}: {}",
            r.raw
        );
        assert!(r.msg().contains(field), "{body}: {}", r.raw);
    }
    let r = verify(
        &w,
        "bob",
        console,
        login(closed, ACCOUNT, PASSWORD),
        "en-us",
    )
    .await;
    assert_eq!(r.status, 400, "a console is not a host: {}", r.raw);
    assert!(r.msg().contains("authorization_detail_id"), "{}", r.raw);

    // Outsiders see nothing; a member of an operator group sees it when naming the group.
    for outsider in ["gina", "gus", "dave", "carol", "eng"] {
        let r = verify(
            &w,
            outsider,
            detail,
            login(closed, ACCOUNT, PASSWORD),
            "en-us",
        )
        .await;
        assert_eq!(
            (r.status, r.code()),
            (404, "OSM.01010101"),
            "{outsider}: {}",
            r.raw
        );
    }
    let r = verify(
        &w,
        "dave",
        detail,
        json!({"port": closed, "account": "a", "password": "p", "group_id": w.ids["ops"]}),
        "en-us",
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.raw);
    let r = verify(
        &w,
        "carol",
        detail,
        json!({"port": closed, "account": "a", "password": "p", "group_id": w.ids["ops"]}),
        "en-us",
    )
    .await;
    assert_eq!((r.status, r.code()), (200, "OSM.01010010"), "{}", r.raw);
    let r = verify(
        &w,
        "alice",
        detail,
        login(closed, ACCOUNT, PASSWORD),
        "en-us",
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (200, "OSM.01010010"),
        "the domain admin: {}",
        r.raw
    );

    // An ended authorization's host is no longer checked.
    assert_eq!(
        w.act("bob", &id, "reject", json!({"reject_reason": "no"}))
            .await
            .status,
        200
    );
    let r = verify(&w, "bob", detail, login(closed, ACCOUNT, PASSWORD), "en-us").await;
    assert_eq!((r.status, r.code()), (409, "OSM.01010102"), "{}", r.raw);
}

/// Thirty checks of two domains at a host that never answers: the limits hold, the rest
/// are told to come back later, and the API keeps answering meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_checks_at_a_silent_host_are_bounded_and_block_nothing() {
    let server = TestServer::start_with(|s| {
        // Long enough that no slot frees while the others wait for one.
        s.check_timeout = Duration::from_secs(4);
        s.check_max_in_flight = 3;
        s.check_max_in_flight_per_domain = 2;
    })
    .await;
    let w = Arc::new(World::on(server).await);
    let (overall, acme, globex) = (
        Arc::new(Gauge::default()),
        Arc::new(Gauge::default()),
        Arc::new(Gauge::default()),
    );
    let acme_host = silent_host(vec![overall.clone(), acme.clone()]).await;
    let globex_host = silent_host(vec![overall.clone(), globex.clone()]).await;
    let (_, acme_detail, _) = local_host(&w, "bob").await;
    let (_, globex_detail, _) = local_host(&w, "gus").await;
    let events = w.audit_events().await;

    let checks: Vec<_> = (0..30)
        .map(|i| {
            let w = w.clone();
            let (user, detail, port) = if i % 2 == 0 {
                ("bob", acme_detail, acme_host.port)
            } else {
                ("gus", globex_detail, globex_host.port)
            };
            tokio::spawn(async move {
                let url = format!(
                    "{}/v2/servicerequest/authorizations/authorization-details/{detail}/verify-host",
                    w.base
                );
                let res = w
                    .client
                    .post(url)
                    .header("X-Auth-Token", w.token(user))
                    .json(&login(port, ACCOUNT, PASSWORD))
                    .send()
                    .await
                    .unwrap();
                let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap();
                (status, body["error_code"].as_str().unwrap_or("").to_owned(), retry_after)
            })
        })
        .collect();
    let started = async {
        while overall.now() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), started)
        .await
        .expect("the checks reach the silent hosts");
    let list = w
        .call(
            "GET",
            "/v2/servicerequest/authorizations",
            Some(w.token("alice")),
            None,
        )
        .await;
    assert_eq!(
        list.status, 200,
        "a list answers while checks hang: {}",
        list.raw
    );
    assert!(overall.now() > 0, "the checks were still running");

    let mut checked = 0;
    let mut refused = 0;
    for check in checks {
        match check.await.unwrap() {
            (200, code, None) => {
                assert_eq!(code, "OSM.01010010");
                checked += 1;
            }
            (429, code, Some(retry_after)) => {
                assert_eq!((code.as_str(), retry_after.as_str()), ("OSM.01010104", "4"));
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(
        overall.max() <= 3,
        "overall limit: {} at once",
        overall.max()
    );
    assert!(
        acme.max() <= 2 && globex.max() <= 2,
        "per-domain limit: {} and {}",
        acme.max(),
        globex.max()
    );
    assert!(
        checked >= 1 && refused >= 1,
        "{checked} checked, {refused} refused"
    );
    assert_eq!(
        w.audit_events().await,
        events + checked,
        "only real checks are audited"
    );
}
