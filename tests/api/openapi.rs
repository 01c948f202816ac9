//! The OpenAPI document: every route the router serves is documented and every
//! documented operation is routed; `/openapi.json` and the `/docs/api` viewer are served
//! as promised.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use support_access::http::middleware::EnvelopeConfig;

use crate::helpers::TestServer;

/// Routes that are not part of the JSON API: the web console (HTML), the front page's
/// redirect, the document itself and its viewer.
fn undocumented_by_design(path: &str) -> bool {
    path == "/"
        || path == "/console"
        || path.starts_with("/console/")
        || path == "/openapi.json"
        || path == "/docs/api"
        || path.starts_with("/docs/api/")
}

const METHODS: &[&str] = &[
    "get", "head", "delete", "options", "patch", "post", "put", "trace", "connect",
];

/// The router's (METHOD, path) pairs. axum offers no route listing, but its `Debug`
/// prints the route table: each route id's method router (`get: None` where a method
/// has no handler) and each route id's path. An axum whose output reads otherwise makes
/// this fail (no routes found), never pass.
fn routed(router: &axum::Router) -> BTreeSet<(String, String)> {
    let text = format!("{router:?}");
    let text = &text[..text.find("fallback_router").expect("axum's Router Debug")];
    let (routes, paths) = text
        .split_once("node: Node { paths: {")
        .expect("axum's PathRouter Debug");
    let mut path_of = HashMap::new();
    for entry in paths.split("RouteId(").skip(1) {
        let (id, rest) = entry.split_once("): \"").expect("RouteId(n): \"path\"");
        path_of.insert(id.to_owned(), rest[..rest.find('"').unwrap()].to_owned());
    }
    let mut routed = BTreeSet::new();
    for entry in routes.split("RouteId(").skip(1) {
        let (id, endpoint) = entry.split_once("): ").expect("RouteId(n): endpoint");
        let path = path_of[id].clone();
        if !endpoint.starts_with("MethodRouter(") {
            // A service nested as a whole answers every method.
            routed.insert(("*".to_owned(), path));
            continue;
        }
        for method in METHODS {
            if endpoint.contains(&format!(" {method}: "))
                && !endpoint.contains(&format!(" {method}: None"))
            {
                routed.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(routed.len() > 20, "routes not found in {text}");
    routed
}

/// `path` with its parameters' names left out: the customer API's documented names are
/// Huawei's (`authorization_detail_id`, as its error messages say), the router's shorter.
fn shape(path: &str) -> String {
    let mut shape = String::new();
    let mut in_name = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_name = true;
                shape.push_str("{}");
            }
            '}' => in_name = false,
            c if !in_name => shape.push(c),
            _ => {}
        }
    }
    shape
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(*method).is_some() {
                documented.insert((method.to_uppercase(), shape(path)));
            }
        }
    }
    documented
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_routed() {
    let server = TestServer::start().await;
    let router = support_access::http::router(
        server.app.clone(),
        EnvelopeConfig {
            request_timeout: server.settings.request_timeout,
            body_limit: server.settings.body_limit_bytes,
            default_language: server.settings.default_language,
        },
        Default::default(),
    );
    let routed: BTreeSet<_> = routed(&router)
        .into_iter()
        .filter(|(_, path)| !undocumented_by_design(path))
        .map(|(method, path)| (method, shape(&path)))
        .collect();
    let r = server.call("GET", "/openapi.json", None, None).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let documented = documented(&r.body);

    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document (add #[utoipa::path] and list the handler in \
         src/http/openapi.rs): {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented operations the router does not serve: {unrouted:?}"
    );
}

/// The document's shape: OpenAPI 3.1, both security schemes, the error body, operation
/// ids unique, public operations marked so and the others answering 401. (The full
/// OpenAPI 3.1 validation runs in `.ci/run`, with openapi-spec-validator.)
#[tokio::test]
async fn the_document_declares_its_security_and_errors() {
    let server = TestServer::start().await;
    let doc = server.call("GET", "/openapi.json", None, None).await.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["token"]["type"], "apiKey");
    assert_eq!(schemes["token"]["name"], "X-Auth-Token");
    assert_eq!(schemes["signature"]["name"], "Authorization");
    assert!(
        schemes["signature"]["description"]
            .as_str()
            .unwrap()
            .contains("SDK-HMAC-SHA256")
    );
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(
        error["required"],
        serde_json::json!(["error_code", "error_msg"])
    );

    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "{id} used twice");
            let public = op["security"] == serde_json::json!([{}]);
            let expect_public = matches!(path.as_str(), "/v3/auth/tokens" | "/healthz" | "/readyz");
            assert_eq!(public, expect_public, "{method} {path}: security");
            let responses = op["responses"].as_object().unwrap();
            if !public {
                assert!(responses.contains_key("401"), "{method} {path}: 401");
                assert!(responses.contains_key("429"), "{method} {path}: 429");
            }
            for status in ["400", "413", "503"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
        }
    }
}

/// `/docs/api`: an HTML page whose only script is the vendored viewer, under a
/// content-hashed name kept for a year, with a CSP that allows nothing from elsewhere.
#[tokio::test]
async fn docs_page_serves_the_vendored_viewer() {
    let server = TestServer::start().await;
    let page = server
        .client
        .get(format!("{}/docs/api", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("http"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<redoc spec-url=\"/openapi.json\">"),
        "{html}"
    );
    let script = html
        .split("<script src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a script element")
        .to_owned();
    assert!(
        script.starts_with("/docs/api/static/redoc.standalone.") && script.ends_with(".js"),
        "{script}"
    );
    assert_eq!(html.matches("<script").count(), 1, "{html}");

    let js = server
        .client
        .get(format!("{}{script}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let body = js.text().await.unwrap();
    assert!(body.len() > 500_000 && body.contains("spec-url"));
    // The vendored copy asks nothing of another server (src/http/static/README.md).
    assert!(!body.contains("cdn.redoc.ly"));

    let stale = server
        .call(
            "GET",
            "/docs/api/static/redoc.standalone.0000000000000000.js",
            None,
            None,
        )
        .await;
    assert_eq!(stale.status, 404);
}
