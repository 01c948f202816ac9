//! Every documented limit at its boundary: the last valid value is accepted, the
//! first invalid one refused with OSM.01010001 naming the field.

use serde_json::{Value, json};

use crate::helpers::{Resp, World};

fn refused(r: &Resp, field: &str) {
    assert_eq!(
        (r.status, r.code()),
        (400, "OSM.01010001"),
        "{field}: {}",
        r.raw
    );
    assert!(
        r.msg().contains(field),
        "message should name {field}: {}",
        r.msg()
    );
}

async fn list(w: &World, query: &str) -> Resp {
    w.call(
        "GET",
        &format!("/v2/servicerequest/authorizations?{query}"),
        Some(w.token("alice")),
        None,
    )
    .await
}

#[tokio::test]
async fn list_query_limits() {
    let w = World::new().await;
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(String, Option<&str>)> = vec![
        ("limit=1".into(), None),
        ("limit=100".into(), None),
        ("limit=0".into(), Some("limit")),
        ("limit=101".into(), Some("limit")),
        ("limit=ten".into(), Some("limit")),
        ("offset=0".into(), None),
        ("offset=65535".into(), None),
        ("offset=-1".into(), Some("offset")),
        ("offset=65536".into(), Some("offset")),
        ("status=-1".into(), None),
        ("status=10".into(), None),
        ("status=-2".into(), Some("status")),
        ("status=11".into(), Some("status")),
        (format!("sub_customer_name={}", long(64)), None),
        (
            format!("sub_customer_name={}", long(65)),
            Some("sub_customer_name"),
        ),
        (format!("incident_id={}", long(64)), None),
        (format!("incident_id={}", long(65)), Some("incident_id")),
        (format!("simple_description={}", long(2000)), None),
        (
            format!("simple_description={}", long(2001)),
            Some("simple_description"),
        ),
        (format!("group_id={}", long(65)), Some("group_id")),
        ("trim_osm_rich_text_label=true&unknown=1".into(), None),
    ];
    for (query, field) in cases {
        let r = list(&w, &query).await;
        match field {
            None => assert_eq!(r.status, 200, "{query}: {}", r.raw),
            Some(f) => refused(&r, f),
        }
    }
}

#[tokio::test]
async fn header_limits() {
    let w = World::new().await;
    let cases = [
        ("X-Language", "x".repeat(32), true),
        ("X-Language", "x".repeat(33), false),
        ("X-Time-Zone", "UTC+5:45".to_string(), true),
        ("X-Time-Zone", "A".repeat(33), false),
        ("X-Time-Zone", "Mars/Phobos".to_string(), false),
        ("X-Site", "0".to_string(), true),
        ("X-Site", "1".to_string(), true),
        ("X-Site", "2".to_string(), false),
    ];
    for (header, value, ok) in cases {
        let req = w
            .client
            .get(format!("{}/v2/servicerequest/authorizations", w.base))
            .header("X-Auth-Token", w.token("alice"))
            .header(header, &value);
        let r = w.send(req).await;
        if ok {
            assert_eq!(r.status, 200, "{header}={value}: {}", r.raw);
        } else {
            refused(&r, header);
        }
    }
}

#[tokio::test]
async fn reject_reason_and_group_id_limits() {
    let w = World::new().await;
    let cases: Vec<(Value, Option<&str>)> = vec![
        (
            json!({"reject_reason": "r".repeat(301)}),
            Some("reject_reason"),
        ),
        (json!({"reject_reason": ""}), Some("reject_reason")),
        (json!({"group_id": ""}), Some("group_id")),
        (json!({"group_id": "g".repeat(65)}), Some("group_id")),
        (json!({"reject_reason": "密".repeat(300)}), None),
    ];
    for (body, field) in cases {
        let (id, _) = w.raise("bob").await;
        let r = w.act("bob", &id, "reject", body.clone()).await;
        match field {
            Some(f) => {
                refused(&r, f);
                assert_eq!(w.status(&id).await.code(), 0, "unchanged after {body}");
            }
            None => assert_eq!(r.status, 200, "{}", r.raw),
        }
    }
}

#[tokio::test]
async fn confirm_limits() {
    let w = World::new().await;
    let grant = |port: Value, account: String, password: String| move |detail: i64| json!({"auth_detail_list": [{"auth_detail_id": detail, "port": port, "account": account, "password": password}]});
    type Case = (Box<dyn Fn(i64) -> Value>, Option<&'static str>);
    let cases: Vec<Case> = vec![
        (Box::new(grant(json!(1), "a".into(), "p".into())), None),
        (
            Box::new(grant(json!(65535), "a".repeat(64), "p".repeat(10_240))),
            None,
        ),
        (
            Box::new(grant(json!(0), "a".into(), "p".into())),
            Some("port"),
        ),
        (
            Box::new(grant(json!(65536), "a".into(), "p".into())),
            Some("port"),
        ),
        (
            Box::new(grant(json!(22), "a".repeat(65), "p".into())),
            Some("account"),
        ),
        (
            Box::new(grant(json!(22), "a".into(), "p".repeat(10_241))),
            Some("password"),
        ),
        (
            Box::new(
                |d| json!({"auth_detail_list": vec![json!({"auth_detail_id": d, "account": "a", "password": "p"}); 7]}),
            ),
            Some("auth_detail_list"),
        ),
        (
            Box::new(
                |d| json!({"auth_detail_list": [{"auth_detail_id": d + 1, "account": "a", "password": "p"}]}),
            ),
            Some("auth_detail_list[0]"),
        ),
        (Box::new(|_| json!({})), Some("auth_detail_list")),
        (
            Box::new(
                |d| json!({"auth_detail_list": [{"auth_detail_id": d, "account": "a", "password": "p"}], "auth_expire_time": 1_000}),
            ),
            Some("auth_expire_time"),
        ),
        (
            Box::new(
                |d| json!({"auth_detail_list": [{"auth_detail_id": d, "account": "a", "password": "p"}], "auth_expire_time": 4_102_444_800_000_i64}),
            ),
            Some("auth_expire_time"),
        ),
        (
            Box::new(
                |d| json!({"auth_detail_list": [{"auth_detail_id": d, "account": "a", "password": "p"}], "agency_id": "x".repeat(65)}),
            ),
            Some("agency_id"),
        ),
    ];
    for (i, (body, field)) in cases.into_iter().enumerate() {
        let (id, details) = w.raise("bob").await;
        let r = w
            .call(
                "PUT",
                &format!("/v2/servicerequest/authorizations/{id}"),
                Some(w.token("bob")),
                Some(body(details[0])),
            )
            .await;
        match field {
            None => assert_eq!(r.status, 200, "case {i}: {}", r.raw),
            Some(f) => {
                refused(&r, f);
                assert_eq!(w.status(&id).await.code(), 0, "case {i} changed nothing");
            }
        }
    }
}

#[tokio::test]
async fn id_limits() {
    let w = World::new().await;
    let r = w
        .call(
            "GET",
            &format!("/v2/servicerequest/authorizations/{}", "1".repeat(33)),
            Some(w.token("alice")),
            None,
        )
        .await;
    refused(&r, "authorization_id");
    // Opaque ids up to 32 characters that name nothing are simply not found.
    for id in ["1".repeat(32), "Auth-123456".into(), "Auth%201%2F2".into()] {
        let r = w
            .call(
                "GET",
                &format!("/v2/servicerequest/authorizations/{id}"),
                Some(w.token("alice")),
                None,
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "OSM.01010101"), "{id}");
    }
}

#[tokio::test]
async fn history_and_provider_limits() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    let sessions = format!(
        "/provider/v1/authorizations/{id}/details/{}/sessions",
        details[0]
    );
    let sid = w
        .call("POST", &sessions, Some(w.token("eng")), None)
        .await
        .body["session_id"]
        .as_i64()
        .unwrap();
    let op = json!({"oper": "ls", "operate_time": "2026-11-28T12:00:00Z"});
    let append = |n: usize| json!({"operations": vec![op.clone(); n]});
    for (n, ok) in [(0, false), (1, true), (1000, true), (1001, false)] {
        let r = w
            .call(
                "POST",
                &format!("{sessions}/{sid}/operations"),
                Some(w.token("eng")),
                Some(append(n)),
            )
            .await;
        if ok {
            assert_eq!(r.status, 200, "{n}: {}", r.raw);
        } else {
            refused(&r, "operations");
        }
    }
    let long =
        json!({"operations": [{"oper": "x".repeat(4097), "operate_time": "2026-11-28T12:00:00Z"}]});
    refused(
        &w.call(
            "POST",
            &format!("{sessions}/{sid}/operations"),
            Some(w.token("eng")),
            Some(long),
        )
        .await,
        "operations[0].oper",
    );

    let hist = format!(
        "/v2/servicerequest/authorizations/{id}/authorization-details/{}",
        details[0]
    );
    for (query, field) in [
        ("sort=0", None),
        ("sort=1", None),
        ("sort=2", Some("sort")),
        ("limit=100", None),
        ("limit=101", Some("limit")),
        ("offset=65536", Some("offset")),
    ] {
        for route in [
            format!("{hist}/sessions/{sid}/operation-logs"),
            format!("{hist}/sessions/{sid}/operation-file-logs"),
        ] {
            let r = w
                .call(
                    "GET",
                    &format!("{route}?{query}"),
                    Some(w.token("bob")),
                    None,
                )
                .await;
            match field {
                None => assert_eq!(r.status, 200, "{route}?{query}: {}", r.raw),
                Some(f) => refused(&r, f),
            }
        }
    }
    let r = w
        .call(
            "GET",
            &format!("{hist}/history-sessions?limit=0"),
            Some(w.token("bob")),
            None,
        )
        .await;
    refused(&r, "limit");
    let r = w
        .call(
            "GET",
            &format!("{hist}/sessions/{sid}/operation-logs?limit=100"),
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(
        (
            r.body["total_count"].as_i64(),
            r.body["ops_list"].as_array().unwrap().len()
        ),
        (Some(1001), 100)
    );
}
