//! Metrics in Prometheus text format on their own listener (`metrics_listen`), through
//! the `metrics` facade: the rest of the code records with the functions here, which
//! cost nothing while no recorder is installed (no `metrics_listen`).

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use metrics::{counter, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

const HTTP_REQUESTS: &str = "support_access_http_requests_total";
const HTTP_DURATION: &str = "support_access_http_request_duration_seconds";
const LIMIT_REJECTIONS: &str = "support_access_limit_rejections_total";
const TRANSITIONS: &str = "support_access_authorization_transitions_total";
const COMMIT_BATCH: &str = "support_access_store_commit_batch_size";
const COMMIT_DURATION: &str = "support_access_store_commit_duration_seconds";
const CREDENTIAL_CACHE: &str = "support_access_credential_cache_lookups_total";
const SWEEPS: &str = "support_access_sweeper_runs_total";
const SWEEP_EXPIRED: &str = "support_access_sweeper_expired_total";
const CHECK_HOSTS: &str = "support_access_check_hosts_total";

const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const BATCH_SIZES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Installs the process-wide Prometheus recorder; its handle renders the scrape.
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets(SECONDS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(COMMIT_BATCH.into()), BATCH_SIZES))
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by route template, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by route template and method"
    );
    describe_counter!(
        LIMIT_REJECTIONS,
        "Requests answered 429 because an in-flight limit was reached, by route"
    );
    describe_counter!(TRANSITIONS, "Authorization status changes by action");
    describe_histogram!(
        COMMIT_BATCH,
        "Writes committed together in one store transaction"
    );
    describe_histogram!(
        COMMIT_DURATION,
        Unit::Seconds,
        "Time to run and commit one store batch"
    );
    describe_counter!(
        CREDENTIAL_CACHE,
        "Credential cache lookups by kind (token, access_key) and result (hit, miss)"
    );
    describe_counter!(SWEEPS, "Expiry sweeper runs by result");
    describe_counter!(SWEEP_EXPIRED, "Authorizations the sweeper expired");
    describe_counter!(CHECK_HOSTS, "CheckHosts attempts by outcome");
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Histograms keep raw samples until upkeep folds them into buckets.
    let upkeep = handle.clone();
    let upkeeper = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticker.tick().await;
            upkeep.run_upkeep();
        }
    });
    let router = Router::new().route("/metrics", get(move || async move { handle.render() }));
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    upkeeper.abort();
    result
}

pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let (route, method) = (route.to_owned(), method.to_owned());
    counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status.to_string())
        .increment(1);
    histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method).record(elapsed);
    if status == 429 {
        counter!(LIMIT_REJECTIONS, "route" => route).increment(1);
    }
}

/// `action`: confirm, reject, cancel, recall.
pub fn transition(action: &'static str) {
    counter!(TRANSITIONS, "action" => action).increment(1);
}

/// One store transaction: `store` is sqlite or postgres.
pub fn commit_batch(store: &'static str, size: usize, elapsed: Duration) {
    histogram!(COMMIT_BATCH, "store" => store).record(size as f64);
    histogram!(COMMIT_DURATION, "store" => store).record(elapsed);
}

/// `kind`: token or access_key.
pub fn credential_lookup(kind: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    counter!(CREDENTIAL_CACHE, "kind" => kind, "result" => result).increment(1);
}

pub fn sweep(result: Result<u64, ()>) {
    match result {
        Ok(expired) => {
            counter!(SWEEPS, "result" => "ok").increment(1);
            counter!(TRANSITIONS, "action" => "expire").increment(expired);
            counter!(SWEEP_EXPIRED).increment(expired);
        }
        Err(()) => counter!(SWEEPS, "result" => "failed").increment(1),
    }
}

pub fn check_hosts(outcome: &'static str) {
    counter!(CHECK_HOSTS, "outcome" => outcome).increment(1);
}
