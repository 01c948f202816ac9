//! What an operator and a customer see first: the answer language, the detail's
//! address, and the request log line.

use crate::helpers::{TestServer, World, captured_logs};

#[tokio::test]
async fn answers_are_english_by_default_and_chinese_when_asked() {
    let s = TestServer::start().await;
    let unknown_route = |header: Option<(&str, &str)>| {
        let mut req = s.client.get(format!("{}/", s.base));
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
        .get(format!("{}/", s.base))
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
    let r = s.call("GET", "/", None, None).await;
    assert_eq!(r.msg(), "API 不存在。");
    let req = s
        .client
        .get(format!("{}/", s.base))
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
