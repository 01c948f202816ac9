//! The whole workflow over HTTP, checking the exact JSON shape of every answer.

use serde_json::{Value, json};

use crate::helpers::World;

/// The member names of an object, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort();
    v
}

#[tokio::test]
async fn the_whole_workflow_answers_in_the_spec_shapes() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;

    // Customer list item: IncidentOrderAuthV2, every field with its JSON type.
    let list = w
        .call(
            "GET",
            "/v2/servicerequest/authorizations?status=0",
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.raw);
    assert_eq!(list.body["count"], 1);
    let item = &list.body["incident_auth_list"][0];
    assert_eq!(
        keys(item),
        sorted(vec![
            "id",
            "status",
            "incident_id",
            "simple_description",
            "auth_describe",
            "resource_type_id",
            "resource_type_name",
            "visit_type_id",
            "visit_type_name",
            "create_time",
            "customer_id",
            "x_customer_id",
            "xcustomer_name",
            "content_of_auth_letter"
        ])
    );
    assert_eq!(item["id"], json!(id));
    assert_eq!(item["status"], json!(0));
    assert_eq!(
        item["resource_type_name"], "Server",
        "default language is en-us"
    );
    assert_eq!(item["xcustomer_name"], "bob");
    let create_time = item["create_time"].as_str().unwrap();
    assert!(
        create_time.len() == 20 && create_time.ends_with('Z') && create_time.as_bytes()[10] == b'T',
        "{create_time}"
    );

    // Detail: ShowAuthorizationDetailResponse with IncidentOrderAuthDetailInfoV2 items.
    let show = w
        .server
        .send(
            w.client
                .get(format!("{}/v2/servicerequest/authorizations/{id}", w.base))
                .header("X-Auth-Token", w.token("bob"))
                .header("X-Language", "en-us"),
        )
        .await;
    assert_eq!(show.status, 200);
    assert_eq!(
        keys(&show.body),
        sorted(vec![
            "id",
            "status",
            "incident_id",
            "simple_description",
            "resource_type_id",
            "resource_type_name",
            "visit_type_id",
            "visit_type_name",
            "incident_auth_detail_list",
            "xcustomer_name",
            "auth_describe",
            "content_type_id",
            "content_type_name"
        ])
    );
    assert_eq!(show.body["visit_type_name"], "SSH");
    assert_eq!(show.body["content_type_name"], "Password");
    let host = &show.body["incident_auth_detail_list"][0];
    assert_eq!(
        keys(host),
        sorted(vec![
            "id",
            "host",
            "port",
            "type",
            "instance_id",
            "instance_name",
            "region_id"
        ])
    );
    assert_eq!(host["id"], json!(details[0]));
    assert_eq!(host["type"], json!(1));
    assert_eq!(host["port"], json!(2222));
    assert!(
        show.body["incident_auth_detail_list"][1]
            .get("port")
            .is_none(),
        "console details have no port"
    );

    // Confirm: {} and the window appears.
    let confirm = w.confirm("bob", &id, &details).await;
    assert_eq!(
        (confirm.status, &confirm.body),
        (200, &json!({})),
        "{}",
        confirm.raw
    );
    let show = w
        .call(
            "GET",
            &format!("/v2/servicerequest/authorizations/{id}"),
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(show.body["status"], 1);
    assert_eq!(show.body["auth_handler_name"], "bob");
    assert_eq!(show.body["incident_auth_detail_list"][0]["account"], "root");
    assert_eq!(show.body["incident_auth_detail_list"][0]["port"], 22);
    assert!(
        show.body["auth_expire_time"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // The engineer records a session.
    let eng = w.token("eng");
    let base = format!("/provider/v1/authorizations/{id}/details/{}", details[0]);
    let opened = w
        .call("POST", &format!("{base}/sessions"), Some(eng), None)
        .await;
    assert_eq!(opened.status, 201, "{}", opened.raw);
    assert_eq!(keys(&opened.body), vec!["session_id"]);
    let sid = opened.body["session_id"].as_i64().unwrap();
    let ops = json!({"operations": [
        {"oper": "df -h", "operate_time": "2026-11-28T12:00:00Z"},
        {"oper": "rm /var/log/old.gz", "operate_time": "2026-11-28T12:01:00Z"}]});
    let r = w
        .call(
            "POST",
            &format!("{base}/sessions/{sid}/operations"),
            Some(eng),
            Some(ops),
        )
        .await;
    assert_eq!(
        (r.status, &r.body),
        (200, &json!({"appended": 2})),
        "{}",
        r.raw
    );
    let files = json!({"file_transfers": [{"operate_type": "download", "file_name": "a.log", "from_path": "/var/log/a.log",
        "to_path": "/tmp/a.log", "file_size_bytes": 1536, "duration_ms": 3723000, "oper_result": "success",
        "operate_time": "2026-11-28T12:02:00Z"}]});
    let r = w
        .call(
            "POST",
            &format!("{base}/sessions/{sid}/file-transfers"),
            Some(eng),
            Some(files),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let r = w
        .call(
            "POST",
            &format!("{base}/sessions/{sid}/close"),
            Some(eng),
            None,
        )
        .await;
    assert_eq!((r.status, &r.body), (200, &json!({})));

    // The customer reviews it, in their time zone.
    let hist = format!(
        "/v2/servicerequest/authorizations/{id}/authorization-details/{}",
        details[0]
    );
    let sessions = w
        .call(
            "GET",
            &format!("{hist}/history-sessions"),
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(sessions.status, 200, "{}", sessions.raw);
    assert_eq!(keys(&sessions.body), vec!["session_list", "total_count"]);
    let s = &sessions.body["session_list"][0];
    assert_eq!(
        keys(s),
        sorted(vec![
            "duration",
            "session_id",
            "start_time",
            "end_time",
            "source"
        ])
    );
    assert_eq!(s["session_id"], json!(sid));
    // Posted through the provider API: the engineer's account, not recorded first-hand.
    assert_eq!(s["source"], "reported");
    assert_eq!(
        s["start_time"].as_str().unwrap().len(),
        19,
        "YYYY-MM-DD HH:MM:SS"
    );
    let req = w
        .client
        .get(format!(
            "{}{hist}/sessions/{sid}/operation-logs?sort=1",
            w.base
        ))
        .header("X-Auth-Token", w.token("bob"))
        .header("X-Time-Zone", "GMT-05:30");
    let logs = w.send(req).await;
    assert_eq!(logs.status, 200);
    assert_eq!(
        logs.body,
        json!({"total_count": 2, "ops_list": [
        {"oper": "df -h", "operate_time": "2026-11-28 06:30:00"},
        {"oper": "rm /var/log/old.gz", "operate_time": "2026-11-28 06:31:00"}]})
    );
    let newest_first = w
        .call(
            "GET",
            &format!("{hist}/sessions/{sid}/operation-logs?limit=1"),
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(
        newest_first.body["ops_list"][0]["oper"],
        "rm /var/log/old.gz"
    );
    assert_eq!(
        newest_first.body["ops_list"][0]["operate_time"], "2026-11-28 20:01:00",
        "default zone GMT+8"
    );
    let files = w
        .call(
            "GET",
            &format!("{hist}/sessions/{sid}/operation-file-logs"),
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(
        files.body,
        json!({"total_count": 1, "file_ops_list": [{"duration": "01:02:03",
        "operate_time": "2026-11-28 20:02:00", "operate_type": "download", "file_name": "a.log",
        "from_path": "/var/log/a.log", "to_path": "/tmp/a.log", "file_size": "1.5K", "oper_result": "success"}]})
    );

    // Login type, then cancel ends it.
    let lt = w
        .call(
            "GET",
            "/v2/servicerequest/authorizations/login-type",
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(lt.body, json!({"login_type": ""}));
    let cancel = w.act("bob", &id, "cancel", json!({})).await;
    assert_eq!((cancel.status, &cancel.body), (200, &json!({})));
    assert_eq!(w.status(&id).await.code(), 5);

    // The engineer's view: provider-only fields, never a secret.
    let pshow = w
        .call(
            "GET",
            &format!("/provider/v1/authorizations/{id}"),
            Some(eng),
            None,
        )
        .await;
    assert_eq!(pshow.status, 200);
    assert_eq!(pshow.body["details"][0]["host"], "10.1.2.3");
    assert_eq!(
        pshow.body["details"][0]["credential_stored"], false,
        "purged on cancel"
    );
    assert_eq!(pshow.body["raised_by_name"], "eng");
    let plist = w
        .call("GET", "/provider/v1/authorizations", Some(eng), None)
        .await;
    assert_eq!(plist.body["count"], 1);
    assert!(plist.body["authorizations"][0].get("details").is_none());

    // Every answer carried a request id.
    assert!(plist.request_id.is_some_and(|r| r.len() >= 16));
}

#[tokio::test]
async fn reject_and_recall_round_out_the_actions() {
    let w = World::new().await;
    let (a, _) = w.raise("bob").await;
    let r = w
        .act("bob", &a, "reject", json!({"reject_reason": "not now"}))
        .await;
    assert_eq!((r.status, &r.body), (200, &json!({})));
    let show = w
        .call(
            "GET",
            &format!("/v2/servicerequest/authorizations/{a}"),
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(
        (
            show.body["status"].as_i64(),
            show.body["reject_reason"].as_str(),
            show.body["auth_handler_name"].as_str()
        ),
        (Some(2), Some("not now"), Some("bob"))
    );

    let (b, _) = w.raise("bob").await;
    let r = w.recall("eng", &b).await;
    assert_eq!((r.status, &r.body), (200, &json!({})));
    assert_eq!(w.status(&b).await.code(), 4);
    // Another engineer cannot see or recall it; the provider admin sees both.
    let (c, _) = w.raise("bob").await;
    assert_eq!(w.recall("eng2", &c).await.status, 404);
    let all = w
        .call(
            "GET",
            "/provider/v1/authorizations",
            Some(w.token("lead")),
            None,
        )
        .await;
    assert_eq!(all.body["count"], 3);
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane() {
    let w = World::new().await;
    let req = w
        .client
        .get(format!("{}/healthz", w.base))
        .header("X-Request-Id", "trace-123_ab.c");
    assert_eq!(
        w.send(req).await.request_id.as_deref(),
        Some("trace-123_ab.c")
    );
    let req = w
        .client
        .get(format!("{}/healthz", w.base))
        .header("X-Request-Id", "bad id<script>");
    assert_ne!(
        w.send(req).await.request_id.as_deref(),
        Some("bad id<script>")
    );
    assert_eq!(
        w.call("GET", "/readyz", None, None).await.body,
        json!({"status": "ready"})
    );
}

#[tokio::test]
async fn tokens_are_refused_when_wrong_or_missing() {
    let w = World::new().await;
    for token in [None, Some("nope"), Some("")] {
        let r = w
            .call("GET", "/v2/servicerequest/authorizations", token, None)
            .await;
        assert_eq!((r.status, r.code()), (401, "APIGW.0301"), "{token:?}");
    }
    let bad_login = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "bob", "password": "wrong", "domain": {"name": "acme"}}}}}});
    assert_eq!(
        w.call("POST", "/v3/auth/tokens", None, Some(bad_login))
            .await
            .status,
        401
    );
    // Customers are refused on the provider API.
    let r = w
        .call(
            "GET",
            "/provider/v1/authorizations",
            Some(w.token("alice")),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "OSM.01010002"));
}
