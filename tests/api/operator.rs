//! What an operator and a customer see first: the answer language, the detail's
//! address, and the request log line.

use crate::helpers::{TestServer, World, captured_logs};

#[tokio::test]
async fn answers_are_english_by_default_and_chinese_when_asked() {
    let s = TestServer::start().await;
    let unknown_route = |header: Option<(&str, &str)>| {
        let mut req = s.client.get(format!("{}/no-such-route", s.base));
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        s.send(req)
    };
    let unauthenticated = |header: Option<(&str, &str)>| {
        let mut req = s
            .client
            .get(format!("{}/v2/servicerequest/authorizations", s.base));
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        s.send(req)
    };

    let r = unknown_route(None).await;
    assert_eq!((r.status, r.msg()), (404, "The API does not exist."));
    let r = unauthenticated(None).await;
    assert_eq!(r.status, 401);
    assert!(
        r.msg()
            .starts_with("Incorrect IAM authentication information"),
        "{}",
        r.msg()
    );

    for header in [("X-Language", "zh-cn"), ("Accept-Language", "zh-CN")] {
        let r = unknown_route(Some(header)).await;
        assert_eq!((r.status, r.msg()), (404, "API 不存在。"), "{header:?}");
        let r = unauthenticated(Some(header)).await;
        assert_eq!(r.status, 401);
        assert!(
            r.msg().starts_with("IAM 认证信息错误"),
            "{header:?}: {}",
            r.msg()
        );
    }

    // X-Language wins over Accept-Language.
    let req = s
        .client
        .get(format!("{}/no-such-route", s.base))
        .header("X-Language", "en-us")
        .header("Accept-Language", "zh-CN");
    assert_eq!(s.send(req).await.msg(), "The API does not exist.");
}

#[tokio::test]
async fn the_default_language_is_a_setting() {
    let s = TestServer::start_with(|settings| {
        settings.default_language = support_access::domain::Language::Zh;
    })
    .await;
    let r = s.call("GET", "/no-such-route", None, None).await;
    assert_eq!(r.msg(), "API 不存在。");
    let req = s
        .client
        .get(format!("{}/no-such-route", s.base))
        .header("Accept-Language", "en-US,en;q=0.9");
    assert_eq!(s.send(req).await.msg(), "The API does not exist.");
}

#[tokio::test]
async fn the_customer_sees_the_host_and_port_the_engineer_entered() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    let r = w
        .call(
            "GET",
            &format!("/v2/servicerequest/authorizations/{id}"),
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let host = r.body["incident_auth_detail_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == details[0])
        .expect("the host detail");
    assert_eq!(
        (&host["host"], &host["port"]),
        (&"10.1.2.3".into(), &2222.into()),
        "{host}"
    );
}

#[tokio::test]
async fn the_log_line_names_the_route_latency_and_principal() {
    let w = World::new().await;
    let logs_for = |request_id: &str| {
        let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
        logs.lines()
            .find(|l| l.contains(request_id) && l.contains(" request"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no log line for {request_id}"))
    };
    let route = "route=/v2/servicerequest/authorizations/{authorization_id}";

    // A 401 on a real route.
    let req = w
        .client
        .get(format!("{}/v2/servicerequest/authorizations/1", w.base))
        .header("X-Request-Id", "op-log-401");
    assert_eq!(w.send(req).await.status, 401);
    let line = logs_for("op-log-401");
    assert!(line.contains(route), "{line}");
    assert!(line.contains("principal=-"), "{line}");

    // A 409: confirming twice.
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    let req = w
        .client
        .put(format!("{}/v2/servicerequest/authorizations/{id}", w.base))
        .header("X-Auth-Token", w.token("bob"))
        .header("X-Request-Id", "op-log-409")
        .json(&World::grant(&details, "Another-Pass-1"));
    assert_eq!(w.send(req).await.status, 409);
    let line = logs_for("op-log-409");
    assert!(line.contains(route), "{line}");
    assert!(
        line.contains(&format!("principal={}", w.ids["bob"])),
        "{line}"
    );
    let latency = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("latency_ms="))
        .expect("latency_ms");
    let (whole, decimals) = latency.split_once('.').expect("a decimal point");
    assert!(
        whole.parse::<u64>().is_ok() && decimals.len() == 3,
        "{latency}"
    );
}

#[tokio::test]
async fn a_domain_admin_reads_their_own_audit_trail_and_verifies_it() {
    use support_access::domain::audit_export::verify_export;

    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    w.raise("gus").await;
    w.admin()
        .update_user(
            "acme",
            "carol",
            support_access::service::admin::UserUpdate {
                email: Some(Some("carol@example.com".into())),
                admin: None,
                language: None,
            },
        )
        .await
        .unwrap();

    let get = |user: &str, query: &str| {
        let path = format!("/customer/v1/audit-events{query}");
        let token = w.token(user).to_owned();
        let w = &w;
        async move { w.call("GET", &path, Some(&token), None).await }
    };
    let all = get("alice", "?limit=100").await;
    assert_eq!(all.status, 200, "{}", all.raw);
    let events = all.body["audit_events"].as_array().unwrap();
    assert_eq!(all.body["count"].as_u64().unwrap() as usize, events.len());
    assert!(
        events.iter().all(|e| e["chain"] == w.ids["acme"]),
        "only acme's chain"
    );
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in [
        "user.created",
        "group.member_added",
        "user.updated",
        "raise",
        "confirm",
    ] {
        assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    // The whole chain, with its hashes, verifies offline.
    let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
    let check = verify_export(&lines).unwrap();
    assert_eq!((check.chains, check.events), (1, events.len()));

    // Paged, and filtered by authorization, type and time.
    let page = get("alice", "?limit=2&offset=1").await;
    assert_eq!(page.body["audit_events"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["audit_events"][0], events[1], "newest first");
    let about = get("alice", &format!("?authorization_id={id}")).await;
    let about = about.body["audit_events"].as_array().unwrap().clone();
    assert_eq!(about.len(), 2, "raise and confirm: {about:?}");
    assert!(
        about
            .iter()
            .all(|e| e["authorization_id"].as_i64() == id.parse().ok())
    );
    let typed = get("alice", "?type=user.updated").await;
    assert_eq!(typed.body["count"], 1);
    let future = get("alice", "?since=2999-01-01T00:00:00Z").await;
    assert_eq!(future.body["count"], 0);
    let bad = get("alice", "?since=yesterday").await;
    assert_eq!((bad.status, bad.code()), (400, "OSM.01010001"));

    // Domain administrators only; engineers neither.
    for user in ["bob", "eng"] {
        let r = get(user, "").await;
        assert_eq!((r.status, r.code()), (403, "OSM.01010002"), "{user}");
    }
    let globex = get("gina", "?limit=100").await;
    let globex = globex.body["audit_events"].as_array().unwrap().clone();
    assert!(!globex.is_empty() && globex.iter().all(|e| e["chain"] == w.ids["globex"]));
}
