//! Metrics: `serve --metrics-listen` in its own process (the recorder is process-wide),
//! a scripted workload, and the scrape's series compared before and after it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_support-access");

struct Server {
    child: Child,
    base: String,
    metrics: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path) -> Server {
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .env_remove("SUPPORT_ACCESS_DATABASE_URL")
        .env_remove("SUPPORT_ACCESS_MASTER_KEY")
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--ssh-listen",
            "",
        ])
        .args([
            "--metrics-listen",
            "127.0.0.1:0",
            "--sweep-interval",
            "200ms",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut metrics = None;
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("support-access metrics on ") {
            metrics = Some(rest.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("support-access listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    Server {
        child,
        base,
        metrics: metrics.expect("the metrics address was printed first"),
    }
}

/// Series (name and sorted labels, as one key) to values, from the text format.
type Scrape = BTreeMap<String, f64>;

fn parse(text: &str) -> Scrape {
    let mut series = Scrape::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (key, value) = line.rsplit_once(' ').unwrap();
        let key = match key.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => key.to_owned(),
        };
        series.insert(key, value.parse().unwrap());
    }
    series
}

/// The key of a series: `name` with `labels` (`k="v"` pieces) sorted.
fn key(name: &str, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let mut pieces: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    pieces.sort();
    format!("{name}{{{}}}", pieces.join(","))
}

fn delta(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let k = key(name, labels);
    after.get(&k).copied().unwrap_or(0.0) - before.get(&k).copied().unwrap_or(0.0)
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value, Option<String>) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.header("x-auth-token", t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let token = resp
            .headers()
            .get("x-subject-token")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body, token)
    }

    async fn login(&self, domain: &str, user: &str, password: &str) -> (String, Value) {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password, "domain": {"name": domain}}}},
            "scope": {"domain": {"name": domain}}}});
        let (status, body, token) = self.call("POST", "/v3/auth/tokens", None, body).await;
        assert_eq!(status, 201, "{body}");
        (token.unwrap(), body)
    }
}

async fn scrape(http: &reqwest::Client, url: &str) -> Scrape {
    parse(&http.get(url).send().await.unwrap().text().await.unwrap())
}

#[tokio::test]
async fn a_scripted_workload_shows_in_the_scrape() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let http = support_access::tls::http_client().build().unwrap();
    let api = Api {
        http: http.clone(),
        base: server.base.clone(),
    };

    let (eng, _) = api
        .login("provider", "engineer", "engineer-demo-pass")
        .await;
    let (bob, login) = api.login("acme", "bob", "bob-demo-pass").await;
    let before = scrape(&http, &server.metrics).await;

    let request = json!({
        "customer_id": login["token"]["domain"]["id"], "x_customer_id": login["token"]["user"]["id"],
        "incident_id": "CS-METRICS", "simple_description": "disk full", "auth_describe": "clean logs",
        "resource_type_id": "1", "visit_type_id": "1", "content_type_id": "1",
        "details": [{"type": 1, "instance_id": "ecs-1", "instance_name": "db-1",
                     "region_id": "cn-south-1", "host": "10.0.0.4", "port": 22}]});
    let mut raised = Vec::new();
    for _ in 0..3 {
        let (status, body, _) = api
            .call(
                "POST",
                "/provider/v1/authorizations",
                Some(&eng),
                request.clone(),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        raised.push((
            body["id"].as_str().unwrap().to_owned(),
            body["details"][0]["id"].as_i64().unwrap(),
        ));
    }
    for _ in 0..2 {
        let (status, _, _) = api
            .call(
                "GET",
                "/v2/servicerequest/authorizations",
                Some(&bob),
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
    }
    let customer = |id: &str| format!("/v2/servicerequest/authorizations/{id}");
    let grant = json!({"auth_detail_list": [{"auth_detail_id": raised[0].1, "account": "root", "password": "pw-Metrics-1"}]});
    assert_eq!(
        api.call("PUT", &customer(&raised[0].0), Some(&bob), grant)
            .await
            .0,
        200
    );
    let action = |id: &str, a: &str| format!("{}/action?action_id={a}", customer(id));
    assert_eq!(
        api.call(
            "PUT",
            &action(&raised[1].0, "reject"),
            Some(&bob),
            json!({"reject_reason": "no"})
        )
        .await
        .0,
        200
    );
    let recall = format!("/provider/v1/authorizations/{}/recall", raised[2].0);
    assert_eq!(
        api.call("POST", &recall, Some(&eng), json!({})).await.0,
        200
    );
    assert_eq!(
        api.call(
            "PUT",
            &action(&raised[0].0, "cancel"),
            Some(&bob),
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api.call(
            "PUT",
            &action(&raised[0].0, "reject"),
            Some(&bob),
            json!({"reject_reason": "x"})
        )
        .await
        .0,
        409
    );
    assert_eq!(
        api.call("GET", "/no/such/route", None, json!({})).await.0,
        404
    );

    // The sweeper runs every 200 ms: wait for one run after the workload.
    let sweeps = |s: &Scrape| {
        s.get(&key(
            "support_access_sweeper_runs_total",
            &[("result", "ok")],
        ))
        .copied()
        .unwrap_or(0.0)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let after = scrape(&http, &server.metrics).await;
        if sweeps(&after) > sweeps(&before) {
            break after;
        }
        assert!(Instant::now() < deadline, "no sweeper run was counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let requests = "support_access_http_requests_total";
    let d = |name: &str, labels: &[(&str, &str)]| delta(&before, &after, name, labels);
    assert_eq!(
        d(
            requests,
            &[
                ("route", "/provider/v1/authorizations"),
                ("method", "POST"),
                ("status", "201")
            ]
        ),
        3.0
    );
    assert_eq!(
        d(
            requests,
            &[
                ("route", "/v2/servicerequest/authorizations"),
                ("method", "GET"),
                ("status", "200")
            ]
        ),
        2.0
    );
    let action_route = "/v2/servicerequest/authorizations/{authorization_id}/action";
    assert_eq!(
        d(
            requests,
            &[
                ("route", action_route),
                ("method", "PUT"),
                ("status", "200")
            ]
        ),
        2.0
    );
    assert_eq!(
        d(
            requests,
            &[
                ("route", action_route),
                ("method", "PUT"),
                ("status", "409")
            ]
        ),
        1.0
    );
    assert_eq!(
        d(
            requests,
            &[
                ("route", "(unmatched)"),
                ("method", "GET"),
                ("status", "404")
            ]
        ),
        1.0
    );
    let latency = "support_access_http_request_duration_seconds_count";
    assert_eq!(
        d(
            latency,
            &[
                ("route", "/v2/servicerequest/authorizations"),
                ("method", "GET")
            ]
        ),
        2.0
    );
    let within_30s = key(
        "support_access_http_request_duration_seconds_bucket",
        &[
            ("route", "/v2/servicerequest/authorizations"),
            ("method", "GET"),
            ("le", "30"),
        ],
    );
    assert!(after[&within_30s] >= 2.0, "latency buckets: {after:?}");

    let transitions = "support_access_authorization_transitions_total";
    for action in ["confirm", "reject", "recall", "cancel"] {
        assert_eq!(d(transitions, &[("action", action)]), 1.0, "{action}");
    }
    // Ten authenticated requests, each one token lookup; two tokens, so at most two misses.
    let cache = "support_access_credential_cache_lookups_total";
    let hits = d(cache, &[("kind", "token"), ("result", "hit")]);
    let misses = d(cache, &[("kind", "token"), ("result", "miss")]);
    assert_eq!(hits + misses, 10.0, "hits {hits}, misses {misses}");
    assert!(misses <= 2.0, "misses {misses}");
    // Every write went through the SQLite writer's batches: 3 raises and 4 transitions
    // at least (the 409 reject and logins may write too).
    let batch = "support_access_store_commit_batch_size";
    assert!(d(&format!("{batch}_sum"), &[("store", "sqlite")]) >= 7.0);
    assert!(d(&format!("{batch}_count"), &[("store", "sqlite")]) >= 1.0);
    assert!(
        d(
            "support_access_store_commit_duration_seconds_count",
            &[("store", "sqlite")]
        ) >= 1.0
    );
}
