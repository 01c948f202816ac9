//! Who sees what (SPEC §4, §5): outsiders get 404 on every route, operator groups
//! widen visibility within the domain, unusable group ids are 403.

use serde_json::json;

use crate::helpers::World;

/// Bob's authorized authorization with one recorded session: (id, host detail, session).
async fn bobs_session(w: &World) -> (String, i64, i64) {
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    let base = format!(
        "/provider/v1/authorizations/{id}/details/{}/sessions",
        details[0]
    );
    let r = w.call("POST", &base, Some(w.token("eng")), None).await;
    let sid = r.body["session_id"].as_i64().unwrap();
    let ops = json!({"operations": [{"oper": "ls", "operate_time": "2026-11-28T12:00:00Z"}]});
    assert_eq!(
        w.call(
            "POST",
            &format!("{base}/{sid}/operations"),
            Some(w.token("eng")),
            Some(ops)
        )
        .await
        .status,
        200
    );
    (id, details[0], sid)
}

#[tokio::test]
async fn outsiders_get_404_on_every_customer_route() {
    let w = World::new().await;
    let (id, detail, sid) = bobs_session(&w).await;
    let hist = format!("/v2/servicerequest/authorizations/{id}/authorization-details/{detail}");
    let routes = [
        (
            "GET",
            format!("/v2/servicerequest/authorizations/{id}"),
            None,
        ),
        (
            "PUT",
            format!("/v2/servicerequest/authorizations/{id}"),
            Some(World::grant(&[detail], "x-pw")),
        ),
        (
            "PUT",
            format!("/v2/servicerequest/authorizations/{id}/action?action_id=cancel"),
            Some(json!({})),
        ),
        ("GET", format!("{hist}/history-sessions"), None),
        ("GET", format!("{hist}/sessions/{sid}/operation-logs"), None),
        (
            "GET",
            format!("{hist}/sessions/{sid}/operation-file-logs"),
            None,
        ),
    ];
    // Other domain's admin and user, a same-domain user outside any operator group,
    // a group member who does not name the group, and an engineer on the customer API.
    for outsider in ["gina", "gus", "dave", "carol", "eng"] {
        for (method, path, body) in &routes {
            let r = w
                .call(method, path, Some(w.token(outsider)), body.clone())
                .await;
            assert_eq!(
                (r.status, r.code()),
                (404, "OSM.01010101"),
                "{outsider} {method} {path}: {}",
                r.raw
            );
        }
        let list = w
            .call(
                "GET",
                "/v2/servicerequest/authorizations",
                Some(w.token(outsider)),
                None,
            )
            .await;
        assert_eq!(list.body["count"], 0, "{outsider} lists nothing");
    }
    assert_eq!(w.status(&id).await.code(), 1, "nothing changed");
    // The owner and the domain admin see it.
    for insider in ["bob", "alice"] {
        let r = w
            .call("GET", &routes[4].1, Some(w.token(insider)), None)
            .await;
        assert_eq!(
            (r.status, r.body["total_count"].as_i64()),
            (200, Some(1)),
            "{insider}"
        );
    }
}

#[tokio::test]
async fn operator_group_members_see_and_act_on_each_others() {
    let w = World::new().await;
    let (id, _, sid) = bobs_session(&w).await;
    let ops = w.ids["ops"].clone();
    let carol = w.token("carol");
    let list = w
        .call(
            "GET",
            &format!("/v2/servicerequest/authorizations?group_id={ops}"),
            Some(carol),
            None,
        )
        .await;
    assert_eq!(list.body["count"], 1, "{}", list.raw);
    let show = w
        .call(
            "GET",
            &format!("/v2/servicerequest/authorizations/{id}?group_id={ops}"),
            Some(carol),
            None,
        )
        .await;
    assert_eq!(show.status, 200);
    let detail = show.body["incident_auth_detail_list"][0]["id"]
        .as_i64()
        .unwrap();
    let logs = format!(
        "/v2/servicerequest/authorizations/{id}/authorization-details/{detail}/sessions/{sid}/operation-logs?group_id={ops}"
    );
    assert_eq!(
        w.call("GET", &logs, Some(carol), None).await.body["total_count"],
        1
    );

    // Acting through the group: reject a pending one, confirm another (group_id in the
    // query, as Huawei's example does), cancel the authorized one.
    let (pending, _) = w.raise("bob").await;
    let r = w
        .act(
            "carol",
            &pending,
            "reject",
            json!({"group_id": ops, "reject_reason": "dup"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let (other, details) = w.raise("bob").await;
    let r = w
        .call(
            "PUT",
            &format!("/v2/servicerequest/authorizations/{other}?group_id={ops}"),
            Some(carol),
            Some(World::grant(&details, "p")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(
        w.act("carol", &id, "cancel", json!({"group_id": ops}))
            .await
            .status,
        200
    );
    assert_eq!(w.status(&id).await.code(), 5);
}

#[tokio::test]
async fn unusable_group_ids_are_forbidden() {
    let w = World::new().await;
    let (id, _) = w.raise("bob").await;
    let cases = [
        ("dave", w.ids["ops"].clone()),         // not a member
        ("bob", w.ids["plain"].clone()),        // member, but no operator permission
        ("carol", w.ids["globex-ops"].clone()), // another domain's group
        ("carol", "no-such-group".to_string()),
    ];
    for (user, group) in cases {
        let list = w
            .call(
                "GET",
                &format!("/v2/servicerequest/authorizations?group_id={group}"),
                Some(w.token(user)),
                None,
            )
            .await;
        assert_eq!(
            (list.status, list.code()),
            (403, "OSM.01010002"),
            "{user} {group}"
        );
        let r = w.act(user, &id, "reject", json!({"group_id": group})).await;
        assert_eq!(r.status, 403, "{user} {group}: {}", r.raw);
    }
    assert_eq!(w.status(&id).await.code(), 0);
}

#[tokio::test]
async fn engineers_only_reach_their_own_on_the_provider_api() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    let base = format!("/provider/v1/authorizations/{id}");
    let opened = w
        .call(
            "POST",
            &format!("{base}/details/{}/sessions", details[0]),
            Some(w.token("eng")),
            None,
        )
        .await;
    let sid = opened.body["session_id"].as_i64().unwrap();
    let session = format!("{base}/details/{}/sessions/{sid}", details[0]);
    let ops = json!({"operations": [{"oper": "ls", "operate_time": "2026-11-28T12:00:00Z"}]});
    let routes = [
        ("GET", base.clone(), None),
        ("POST", format!("{base}/recall"), Some(json!({}))),
        (
            "POST",
            format!("{base}/details/{}/sessions", details[0]),
            None,
        ),
        ("POST", format!("{session}/operations"), Some(ops)),
        ("POST", format!("{session}/close"), None),
    ];
    for (method, path, body) in &routes {
        let r = w
            .call(method, path, Some(w.token("eng2")), body.clone())
            .await;
        assert_eq!(r.status, 404, "eng2 {method} {path}: {}", r.raw);
        let r = w
            .call(method, path, Some(w.token("alice")), body.clone())
            .await;
        assert_eq!(r.status, 403, "alice {method} {path}: {}", r.raw);
    }
    // The provider admin sees it.
    assert_eq!(
        w.call("GET", &base, Some(w.token("lead")), None)
            .await
            .status,
        200
    );
}

/// List totals for a customer scope filtered by status at most come from counts kept
/// by triggers; every other filter counts rows. Both must agree with the rows listed.
#[tokio::test]
async fn list_totals_match_the_rows_in_every_scope_and_status() {
    let w = World::new().await;
    // bob: pending, rejected, authorized, canceled; carol: pending, authorized; dave: pending.
    let mut raised = Vec::new();
    for submitter in ["bob", "bob", "bob", "bob", "carol", "carol", "dave"] {
        raised.push(w.raise(submitter).await);
    }
    let reject = json!({"reject_reason": "no"});
    assert_eq!(
        w.act("bob", &raised[1].0, "reject", reject).await.status,
        200
    );
    for i in [2, 3, 5] {
        let (id, details) = &raised[i];
        let submitter = if i == 5 { "carol" } else { "bob" };
        assert_eq!(w.confirm(submitter, id, details).await.status, 200);
    }
    let cancel = json!({"reject_reason": "done"});
    assert_eq!(
        w.act("bob", &raised[3].0, "cancel", cancel).await.status,
        200
    );

    let ops = w.ids["ops"].clone();
    let views = [
        ("alice", String::new(), 7),
        ("bob", String::new(), 4),
        ("carol", format!("&group_id={ops}"), 6),
        ("gina", String::new(), 0),
    ];
    for (caller, group, everything) in views {
        let mut per_status = 0;
        for status in [
            "",
            "&status=0",
            "&status=1",
            "&status=2",
            "&status=5",
            "&status=-1",
        ] {
            let path = format!("/v2/servicerequest/authorizations?limit=100{status}{group}");
            let r = w.call("GET", &path, Some(w.token(caller)), None).await;
            assert_eq!(r.status, 200, "{caller} {path}: {}", r.raw);
            let rows = r.body["incident_auth_list"].as_array().unwrap().len() as u64;
            assert_eq!(r.body["count"], rows, "{caller} {path}");
            if status.is_empty() || status.ends_with("-1") {
                assert_eq!(rows, everything, "{caller} {path}");
            } else {
                per_status += rows;
            }
            // A filter beside the status takes the row count instead; same answer.
            let narrowed = format!("{path}&incident_id=CS-TEST-1");
            let r = w.call("GET", &narrowed, Some(w.token(caller)), None).await;
            assert_eq!(r.body["count"], rows, "{caller} {narrowed}");
        }
        // Statuses 0, 1, 2 and 5 cover everything raised here.
        assert_eq!(per_status, everything, "{caller}");
    }
}
