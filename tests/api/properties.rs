//! Property-based suite over the request parsers: signatures, query strings, JSON
//! bodies and path ids, first as pure functions, then through a real server. Whatever
//! arrives, nothing panics, nothing answers 5xx, and every refusal has the error body.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use support_access::auth::sdk_signature::parse_authorization;
use support_access::domain::ids::parse_long_id;
use support_access::domain::time::{parse_rfc3339, parse_time_zone};

use crate::helpers::{Resp, World};

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("details".to_owned()),
                    Just("auth_detail_list".to_owned()),
                    Just("operations".to_owned()),
                    Just("auth".to_owned()),
                    Just("port".to_owned()),
                    "[a-z_]{1,12}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The answer is not a server error, and a refusal carries the error body.
fn well_formed(r: &Resp, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(r.status < 500, "{what}: {} {}", r.status, r.raw);
    if r.status >= 400 {
        prop_assert!(r.body["error_code"].is_string(), "{what}: {}", r.raw);
        prop_assert!(r.body["error_msg"].is_string(), "{what}: {}", r.raw);
    }
    Ok(())
}

#[test]
fn the_pure_parsers_take_anything() {
    let mut runner = runner();
    runner
        .run(&".{0,200}", |text| {
            let _ = parse_authorization(&text);
            let _ = parse_long_id("id", &text);
            let _ = parse_rfc3339("t", &text);
            let _ = parse_time_zone(Some(&text));
            Ok(())
        })
        .unwrap();
    let header = ("[A-Z0-9]{1,30}", "[a-z;-]{1,40}", "[0-9a-f]{64}");
    runner
        .run(&header, |(ak, signed, sig)| {
            let value =
                format!("SDK-HMAC-SHA256 Access={ak}, SignedHeaders={signed}, Signature={sig}");
            if let Ok(parsed) = parse_authorization(&value) {
                prop_assert_eq!(parsed.access_key, ak);
                prop_assert_eq!(hex::encode(parsed.signature), sig);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_server_answers_any_request_without_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let w = rt.block_on(World::new());
    let (id, details) = rt.block_on(w.raise("bob"));
    let eng = w.token("eng").to_owned();
    let bob = w.token("bob").to_owned();
    let mut runner = runner();

    // Path ids: anything, percent-encoded.
    runner
        .run(&".{0,40}", |raw| {
            let id: String = raw
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            for path in [
                format!("/v2/servicerequest/authorizations/{id}"),
                format!("/provider/v1/authorizations/{id}"),
                format!("/v2/servicerequest/authorizations/{id}/authorization-details/{id}/history-sessions"),
            ] {
                let r = rt.block_on(w.call("GET", &path, Some(&bob), None));
                well_formed(&r, &path)?;
                let r = rt.block_on(w.call("GET", &path, Some(&eng), None));
                well_formed(&r, &path)?;
            }
            Ok(())
        })
        .unwrap();

    // Query strings: arbitrary pairs, known names among them.
    let pair = (
        prop_oneof![
            Just("limit"),
            Just("offset"),
            Just("status"),
            Just("group_id"),
            Just("action_id"),
            Just("sort"),
            Just("incident_id"),
            Just("x")
        ],
        "[ -~]{0,20}",
    );
    runner
        .run(&prop::collection::vec(pair, 0..5), |pairs| {
            let query: String = pairs
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        v.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
                    )
                })
                .collect::<Vec<_>>()
                .join("&");
            for path in [
                format!("/v2/servicerequest/authorizations?{query}"),
                format!("/provider/v1/authorizations?{query}"),
            ] {
                let r = rt.block_on(w.call("GET", &path, Some(&bob), None));
                well_formed(&r, &path)?;
                let r = rt.block_on(w.call("GET", &path, Some(&eng), None));
                well_formed(&r, &path)?;
            }
            Ok(())
        })
        .unwrap();

    // JSON bodies on every route that reads one.
    let detail = details[0];
    runner
        .run(&any_json(), |body| {
            let writes = [
                ("POST", "/v3/auth/tokens".to_owned(), None),
                ("POST", "/provider/v1/authorizations".to_owned(), Some(&eng)),
                ("PUT", format!("/v2/servicerequest/authorizations/{id}"), Some(&bob)),
                (
                    "PUT",
                    format!("/v2/servicerequest/authorizations/{id}/action?action_id=reject"),
                    Some(&bob),
                ),
                (
                    "POST",
                    format!("/v2/servicerequest/authorizations/authorization-details/{detail}/verify-host"),
                    Some(&bob),
                ),
            ];
            for (method, path, token) in writes {
                let r = rt.block_on(w.call(method, &path, token.map(String::as_str), Some(body.clone())));
                well_formed(&r, &path)?;
            }
            Ok(())
        })
        .unwrap();

    // Authorization headers that look like signatures, or not.
    let header = prop_oneof![
        ".{0,120}",
        ("[A-Z0-9]{0,24}", "[a-z;-]{0,30}", "[0-9a-fA-F]{0,70}").prop_map(|(ak, sh, sig)| format!(
            "SDK-HMAC-SHA256 Access={ak}, SignedHeaders={sh}, Signature={sig}"
        )),
    ];
    runner
        .run(&header, |value| {
            let Ok(value) = reqwest::header::HeaderValue::from_str(&value) else {
                return Ok(());
            };
            let req = w
                .client
                .get(format!("{}/v2/servicerequest/authorizations", w.base))
                .header("Authorization", value)
                .header("X-Sdk-Date", "20261128T120000Z");
            let r = rt.block_on(w.send(req));
            well_formed(&r, "signed list")?;
            prop_assert!(r.status == 401 || r.status == 429, "{}", r.raw);
            Ok(())
        })
        .unwrap();
}
