//! What one webhook subscription costs rejects: the same server, the same run, measured
//! alternately without a subscription and with one (the provider's, so it receives
//! every event) to a receiver in this process answering 204: without, with, without,
//! with … without, `PAIRS` times with. Each with-phase is compared with the mean of the
//! two without-phases around it, so a drift of the server over the run (its WAL and
//! database growing with every reject) does not count against the subscription, and
//! the row's ratio is the median of those comparisons, so one phase that a noisy
//! neighbour slowed does not decide it. The phases are half the run's measurement and
//! warm-up, so the row spends about as many rejects as three whole ones would.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::load::{self, Measured};
use crate::process;
use crate::workloads::{Bound, Data, Kind};

/// With-phases per concurrency.
const PAIRS: usize = 3;

#[derive(Serialize)]
pub struct WebhookRow {
    pub concurrency: usize,
    /// The without-phases, in order: one before each with-phase, and one after the last.
    pub without: Vec<Measured>,
    pub with: Vec<Measured>,
    /// Each with-phase's rejects per second over the mean of its two neighbours; none
    /// where one of the three phases made no request (the pending pool ran out).
    pub ratios: Vec<Option<f64>>,
    /// The median of the `ratios` there are.
    pub ratio: Option<f64>,
    /// Deliveries the receiver had got by the end of this row's phases (those of the
    /// rows at lower concurrencies included).
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

/// Rejects at each concurrency, alternately without and with one subscription.
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
    let (warmup, duration) = (timing.0 / 2, timing.1 / 2);
    let cli = Cli {
        binary,
        database_url,
        master_key: run_dir.join("master.key").to_string_lossy().into_owned(),
    };
    let mut rows = Vec::new();
    for &c in concurrencies {
        let mut seed = 9_000 + 100 * c as u64;
        let mut phase = || {
            seed += 1;
            let workload = Arc::new(Bound {
                kind: Kind::Reject,
                data: data.clone(),
                for_ceiling: false,
            });
            load::drive(server.addr, c, warmup, duration, workload, seed)
        };
        let mut without = vec![phase().await];
        let mut with = Vec::new();
        for _ in 0..PAIRS {
            let id = cli.subscribe(&url)?;
            with.push(phase().await);
            cli.unsubscribe(&id)?;
            without.push(phase().await);
        }
        let delivered = delivered.load(Ordering::Relaxed);
        let ratios: Vec<Option<f64>> = with
            .iter()
            .zip(without.windows(2))
            .map(|(w, around)| {
                let made_requests = [w, &around[0], &around[1]].iter().all(|m| m.requests > 0);
                let baseline = (around[0].per_second + around[1].per_second) / 2.0;
                made_requests.then(|| w.per_second / baseline)
            })
            .collect();
        let ratio = median(ratios.iter().flatten().copied().collect());
        let rates = |ms: &[Measured]| listed(ms.iter().map(|m| Some(m.per_second)), 0);
        eprintln!(
            "bench: reject c={c}: without a webhook subscription {}/s; with one {}/s \
             (ratios {}; median {}x; {delivered} delivered)",
            rates(&without),
            rates(&with),
            listed(ratios.iter().copied(), 2),
            listed(std::iter::once(ratio), 2)
        );
        rows.push(WebhookRow {
            concurrency: c,
            without,
            with,
            ratios,
            ratio,
            delivered,
        });
    }
    server.stop();
    Ok(rows)
}

/// `values` with `decimals` decimals each (`-` for none), comma-separated.
pub fn listed(values: impl Iterator<Item = Option<f64>>, decimals: usize) -> String {
    values
        .map(|v| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[n / 2]),
        n => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The service's CLI, for creating and deleting the subscription between phases.
struct Cli<'a> {
    binary: &'a Path,
    database_url: &'a str,
    master_key: String,
}

impl Cli<'_> {
    fn args<'b>(&'b self, rest: &[&'b str]) -> Vec<&'b str> {
        let mut args = vec![
            "--database-url",
            self.database_url,
            "--master-key-file",
            &self.master_key,
        ];
        args.extend_from_slice(rest);
        args
    }

    /// A provider subscription to every authorization event; its id.
    fn subscribe(&self, url: &str) -> Result<String, String> {
        let out = process::cli_output(
            self.binary,
            &self.args(&[
                "--output",
                "json",
                "admin",
                "webhook",
                "create",
                "--domain",
                "provider",
                "--url",
                url,
                "--events",
                "authorization.*",
            ]),
        )?;
        serde_json::from_str::<serde_json::Value>(&out)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .ok_or_else(|| format!("webhook create said {out}"))
    }

    fn unsubscribe(&self, id: &str) -> Result<(), String> {
        process::run_cli(
            self.binary,
            &self.args(&[
                "admin", "webhook", "delete", "--domain", "provider", "--id", id,
            ]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{listed, median};

    #[test]
    fn listed_rounds_each_value() {
        assert_eq!(
            listed([Some(0.876), None, Some(1.0)].into_iter(), 2),
            "0.88, -, 1.00"
        );
        assert_eq!(listed([Some(2444.4)].into_iter(), 0), "2444");
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![0.9, 0.7, 1.1]), Some(0.9));
        assert_eq!(median(vec![1.0, 0.5, 0.75, 0.25]), Some(0.625));
        assert_eq!(median(Vec::new()), None);
    }
}
