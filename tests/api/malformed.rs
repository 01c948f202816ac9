//! Malformed input of every kind: a clear 4xx error body, no state change, no crash.

use crate::helpers::World;

#[tokio::test]
async fn malformed_requests_change_nothing() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    let token = w.token("bob");
    let events = w.audit_events().await;
    let put = |path: String, body: &'static str| {
        w.client
            .put(format!("{}{path}", w.base))
            .header("X-Auth-Token", token)
            .header("Content-Type", "application/json")
            .body(body)
    };
    let action = format!("/v2/servicerequest/authorizations/{id}/action");
    let confirm = format!("/v2/servicerequest/authorizations/{id}");
    let detail = details[0];
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (put(format!("{action}?action_id=reject"), "{\"reject_reason\": "), 400, "body"),
        (put(format!("{action}?action_id=reject"), "{\"reject_reason\": 5}"), 400, "reject_reason"),
        (put(format!("{action}?action_id=reject"), "[\"reject\"]"), 400, "body"),
        (put(format!("{action}?action_id=reject"), "{} trailing"), 400, "body"),
        (put(format!("{action}?action_id=approve"), "{}"), 400, "action_id"),
        (put(action.clone(), "{}"), 400, "action_id"),
        (put(confirm.clone(), "{\"auth_detail_list\": {}}"), 400, "auth_detail_list"),
        (put(confirm.clone(), "{\"auth_detail_list\": [{\"auth_detail_id\": \"1\"}]}"), 400, "auth_detail_list[0].auth_detail_id"),
        (put(confirm.clone(), "{\"auth_effective_time\": 1.5}"), 400, "auth_effective_time"),
        (put(confirm.clone(), "\u{0}\u{1}binary"), 400, "body"),
        (
            w.client.put(format!("{}{action}?action_id=reject", w.base)).header("X-Auth-Token", token).header("X-Time-Zone", "Nowhere/Land").body("{}"),
            400,
            "X-Time-Zone",
        ),
        (
            w.client.get(format!("{}/v2/servicerequest/authorizations/{id}/authorization-details/abc/history-sessions", w.base)).header("X-Auth-Token", token),
            400,
            "authorization_detail_id",
        ),
        (
            w.client.get(format!("{}/v2/servicerequest/authorizations/{id}/authorization-details/{detail}/sessions/1x/operation-logs", w.base)).header("X-Auth-Token", token),
            400,
            "session_id",
        ),
        (
            w.client.post(format!("{}/v2/servicerequest/authorizations/authorization-details/abc/verify-host", w.base)).header("X-Auth-Token", token).body("{}"),
            400,
            "authorization_detail_id",
        ),
        (
            w.client.get(format!("{}/v2/servicerequest/authorizations?limit=%FF%FE", w.base)).header("X-Auth-Token", token),
            400,
            "limit",
        ),
    ];
    for (i, (req, status, field)) in cases.into_iter().enumerate() {
        let r = w.send(req).await;
        assert_eq!(r.status, status, "case {i}: {}", r.raw);
        assert!(
            r.code().starts_with("OSM.") && !r.msg().is_empty(),
            "case {i}: {}",
            r.raw
        );
        assert!(
            r.msg().contains(field),
            "case {i} should name `{field}`: {}",
            r.msg()
        );
        assert!(r.request_id.is_some(), "case {i}");
    }

    // Oversize bodies are refused before parsing.
    let huge = format!("{{\"reject_reason\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = w
        .send(
            w.client
                .put(format!("{}{action}?action_id=reject", w.base))
                .header("X-Auth-Token", token)
                .body(huge),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "OSM.01010103"), "{}", r.raw);

    // Unknown routes and methods answer in the same error format.
    let r = w
        .call("GET", "/v2/servicerequest/nothing-here", Some(token), None)
        .await;
    assert_eq!((r.status, r.code()), (404, "APIGW.0101"));
    let r = w.call("DELETE", &confirm, Some(token), None).await;
    assert_eq!((r.status, r.code()), (405, "APIGW.0102"), "{}", r.raw);

    assert_eq!(w.status(&id).await.code(), 0, "still pending");
    assert_eq!(w.audit_events().await, events, "no audit events");
    // The server still answers.
    assert_eq!(w.call("GET", "/healthz", None, None).await.status, 200);
}
