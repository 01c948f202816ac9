//! What one webhook subscription costs rejects: the same server, the same run, measured
//! without a subscription, with one (the provider's, so it receives every event) to a
//! receiver in this process answering 204, and without again. The ratio compares the
//! middle run with the mean of the two around it, so a drift of the server over the
//! run (its WAL and database growing with every reject) does not count against the
//! subscription, as it would if it were always measured second.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::load::{self, Measured};
use crate::process;
use crate::workloads::{Bound, Data, Kind};

#[derive(Serialize)]
pub struct WebhookRow {
    pub concurrency: usize,
    pub without: Measured,
    pub with: Measured,
    /// Without a subscription again, after it was deleted.
    pub without_after: Measured,
    /// Rejects per second with the subscription / the mean of the two without.
    pub ratio: f64,
    /// Deliveries the receiver had got when the measurement ended.
    pub delivered: u64,
}

/// A loopback receiver answering 204; its URL and how many deliveries it got. It runs on
/// a thread and runtime of its own: it stands in for a system elsewhere, and on the load
/// generator's runtime its thousands of requests a second would queue with the load
/// generator's own (it still shares the CPUs).
fn receiver() -> Result<(String, Arc<AtomicU64>), String> {
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            seen.fetch_add(1, Ordering::Relaxed);
            async { axum::http::StatusCode::NO_CONTENT }
        }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}/hook",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("receiver".into())
        .spawn(move || {
            runtime.block_on(async move {
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    let _ = axum::serve(listener, app).await;
                }
            });
        })
        .map_err(|e| e.to_string())?;
    Ok((url, count))
}

/// Rejects at each concurrency without, with, and again without one subscription.
pub async fn measure(
    binary: &Path,
    database_url: &str,
    run_dir: &Path,
    log: Option<&Path>,
    data: &Arc<Data>,
    concurrencies: &[usize],
    timing: (Duration, Duration),
) -> Result<Vec<WebhookRow>, String> {
    let (url, delivered) = receiver()?;
    let server = process::start_service_with(
        binary,
        database_url,
        run_dir,
        log,
        &[
            "--webhook-allow-private",
            "--webhook-poll-interval",
            "100ms",
        ],
    )
    .await?;
    let (warmup, duration) = timing;
    let mut rows = Vec::new();
    for &c in concurrencies {
        let workload = || {
            Arc::new(Bound {
                kind: Kind::Reject,
                data: data.clone(),
                for_ceiling: false,
            })
        };
        let seed = 9_000 + c as u64;
        let without = load::drive(server.addr, c, warmup, duration, workload(), seed).await;
        let id = process::cli_output(
            binary,
            &[
                "--database-url",
                database_url,
                "--master-key-file",
                &run_dir.join("master.key").to_string_lossy(),
                "--output",
                "json",
                "admin",
                "webhook",
                "create",
                "--domain",
                "provider",
                "--url",
                &url,
                "--events",
                "authorization.*",
            ],
        )
        .and_then(|out| {
            serde_json::from_str::<serde_json::Value>(&out)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned))
                .ok_or_else(|| format!("webhook create said {out}"))
        })?;
        let with = load::drive(server.addr, c, warmup, duration, workload(), seed + 1).await;
        let delivered = delivered.load(Ordering::Relaxed);
        process::run_cli(
            binary,
            &[
                "--database-url",
                database_url,
                "--master-key-file",
                &run_dir.join("master.key").to_string_lossy(),
                "admin",
                "webhook",
                "delete",
                "--domain",
                "provider",
                "--id",
                &id,
            ],
        )?;
        let without_after =
            load::drive(server.addr, c, warmup, duration, workload(), seed + 2).await;
        let baseline = (without.per_second + without_after.per_second) / 2.0;
        let ratio = with.per_second / baseline.max(1e-9);
        eprintln!(
            "bench: reject c={c}: {:.0}/s without a webhook subscription, {:.0}/s with one, \
             {:.0}/s without again ({ratio:.2}x; {delivered} delivered)",
            without.per_second, with.per_second, without_after.per_second
        );
        rows.push(WebhookRow {
            concurrency: c,
            without,
            with,
            without_after,
            ratio,
            delivered,
        });
    }
    server.stop();
    Ok(rows)
}
