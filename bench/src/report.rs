//! The results: a table for people, JSON for scripts, and issue 5's targets.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::load::{Connection, Measured, Workload};
use crate::rng::Rng;
use crate::workloads::{Bound, Data, Kind};

#[derive(Serialize, Clone)]
pub struct Setup {
    pub authorizations: u64,
    pub domains: usize,
    pub users_per_domain: usize,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub client_threads: usize,
    pub cpus: usize,
}

/// Which database the service ran on.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Store {
    Sqlite,
    Postgres,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Store::Sqlite => "sqlite",
            Store::Postgres => "postgres",
        }
    }
}

#[derive(Serialize, Clone)]
pub struct Row {
    pub store: Store,
    pub workload: &'static str,
    #[serde(skip)]
    pub kind: Kind,
    #[serde(skip)]
    pub ceiling_kind: Kind,
    pub concurrency: usize,
    pub service: Measured,
    pub ceiling: Measured,
    /// Service requests/s over ceiling requests/s.
    pub ratio: f64,
    pub peak_rss_mib: f64,
    /// `RssAnon` at the end of the measurement.
    pub anon_rss_mib: f64,
}

impl Row {
    pub fn new(
        store: Store,
        kind: Kind,
        concurrency: usize,
        service: Measured,
        ceiling: Measured,
        peak_rss_mib: f64,
        anon_rss_mib: f64,
    ) -> Row {
        let ratio = if ceiling.per_second > 0.0 {
            service.per_second / ceiling.per_second
        } else {
            0.0
        };
        Row {
            store,
            workload: kind.name(),
            kind,
            ceiling_kind: kind.ceiling(),
            concurrency,
            service,
            ceiling,
            ratio,
            peak_rss_mib,
            anon_rss_mib,
        }
    }

    pub fn line(&self) -> String {
        let s = &self.service;
        let c = &self.ceiling;
        let mut line = format!(
            "| {:<8} | {:<18} | {:>3} | {:>8.0} | {:>6.2} | {:>6.2} | {:>8.0} | {:>6.2} | {:>6.2} | {:>5.2} | {:>6.1} | {:>6.1} |",
            self.store.name(),
            self.workload,
            self.concurrency,
            s.per_second,
            s.p50_ms,
            s.p99_ms,
            c.per_second,
            c.p50_ms,
            c.p99_ms,
            self.ratio,
            self.peak_rss_mib,
            self.anon_rss_mib,
        );
        if s.errors > 0 || s.exhausted {
            line.push_str(&format!(
                " errors {}{}{}",
                s.errors,
                if s.exhausted { ", pool exhausted" } else { "" },
                s.first_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ));
        }
        line
    }
}

#[derive(Serialize)]
pub struct Target {
    pub name: &'static str,
    pub wanted: String,
    pub measured: String,
    /// `None` when this run did not measure it (e.g. concurrency 16 was not run).
    pub met: Option<bool>,
}

/// A raw write rate at one concurrency, measured without the service: PostgreSQL's
/// plain single-row update per transaction, or SQLite's batched update.
#[derive(Serialize)]
pub struct Baseline {
    pub concurrency: usize,
    pub plain_update: Measured,
}

fn baselines(measured: Vec<(usize, Measured)>) -> Vec<Baseline> {
    measured
        .into_iter()
        .map(|(concurrency, plain_update)| Baseline {
            concurrency,
            plain_update,
        })
        .collect()
}

#[derive(Serialize)]
pub struct Report {
    pub setup: Setup,
    pub startup_ms: [f64; 2],
    /// Median 4 KiB append + fdatasync on the database's disk.
    pub fsync_ms: f64,
    pub rows: Vec<Row>,
    /// SQLite's raw `UPDATE … SET status = ? WHERE id = ?`, `c` rows a commit.
    pub sqlite_baseline: Vec<Baseline>,
    pub postgres_baseline: Vec<Baseline>,
    /// Rejects without and with one webhook subscription, on SQLite.
    pub webhook: Vec<crate::webhook::WebhookRow>,
    pub targets: Vec<Target>,
}

impl Report {
    pub fn new(
        setup: &Setup,
        rows: Vec<Row>,
        startups: [Duration; 2],
        fsync_ms: f64,
        sqlite_baseline: Vec<(usize, Measured)>,
        postgres_baseline: Vec<(usize, Measured)>,
        webhook: Vec<crate::webhook::WebhookRow>,
    ) -> Report {
        let startup_ms = startups.map(|d| d.as_secs_f64() * 1000.0);
        let sqlite_baseline = baselines(sqlite_baseline);
        let postgres_baseline = baselines(postgres_baseline);
        let mut targets = targets(&rows, startup_ms, &sqlite_baseline, &postgres_baseline);
        targets.push(at_least(
            "reject with a webhook subscription / without, c=16",
            0.90,
            webhook
                .iter()
                .find(|w| w.concurrency == 16)
                .and_then(|w| w.ratio),
        ));
        Report {
            setup: setup.clone(),
            startup_ms,
            fsync_ms,
            rows,
            sqlite_baseline,
            postgres_baseline,
            webhook,
            targets,
        }
    }

    /// Rejects per second the disk allows at concurrency `c`, one fsync per batch.
    fn fsync_bound(&self, c: usize) -> f64 {
        c as f64 * 1000.0 / self.fsync_ms.max(1e-6)
    }

    pub fn table(&self) -> String {
        let s = &self.setup;
        let mut out = format!(
            "\n{} authorizations over {} domains ({} users each), synchronous=FULL, {} CPUs, \
             {} s per run after {} s warm-up; latencies in ms\n\n",
            s.authorizations, s.domains, s.users_per_domain, s.cpus, s.duration_s, s.warmup_s
        );
        out.push_str("| database | workload           |   c |  service |    p50 |    p99 |  ceiling |    p50 |    p99 | ratio | RSS MiB | RssAnon |\n");
        out.push_str("|----------|--------------------|----:|---------:|-------:|-------:|---------:|-------:|-------:|------:|-------:|-------:|\n");
        for row in &self.rows {
            out.push_str(&row.line());
            out.push('\n');
        }
        out.push_str(&format!(
            "\nstart-up to ready: {:.0} ms (fresh copy), {:.0} ms (after the load)\n",
            self.startup_ms[0], self.startup_ms[1]
        ));
        out.push_str(&format!(
            "fsync (4 KiB append + fdatasync), median: {:.3} ms; so at most c commits per \
             fsync allow {:.0} rejects/s at c=16 ({:.2} of the reject ceiling)\n",
            self.fsync_ms,
            self.fsync_bound(16),
            find(&self.rows, Store::Sqlite, Kind::Reject, 16).map_or(0.0, |r| self.fsync_bound(16)
                / r.ceiling.per_second.max(1e-9)),
        ));
        for w in &self.webhook {
            // The mean over the phases that made requests (not those after the pending
            // pool ran out), and how many those were.
            let mean = |ms: &[crate::load::Measured]| {
                let made: Vec<f64> = ms
                    .iter()
                    .filter(|m| m.requests > 0)
                    .map(|m| m.per_second)
                    .collect();
                let n = made.len();
                (made.iter().sum::<f64>() / n.max(1) as f64, n)
            };
            let (with, without) = (mean(&w.with), mean(&w.without));
            out.push_str(&format!(
                "reject, c={}: {:.0}/s with one webhook subscription (receiver answering 204) vs \
                 {:.0}/s without, means of {} and {} alternating phases; each with-phase over \
                 the two around it: {}, median {}x ({} delivered)\n",
                w.concurrency,
                with.0,
                without.0,
                with.1,
                without.1,
                crate::webhook::listed(w.ratios.iter().copied(), 2),
                crate::webhook::listed(std::iter::once(w.ratio), 2),
                w.delivered
            ));
        }
        let baselines = [
            (
                Store::Sqlite,
                "SQLite raw UPDATE of random rows, synchronous=FULL, rows a commit",
                &self.sqlite_baseline,
            ),
            (
                Store::Postgres,
                "PostgreSQL plain single-row UPDATE per transaction, c",
                &self.postgres_baseline,
            ),
        ];
        for (store, what, measured) in baselines {
            for b in measured {
                let m = &b.plain_update;
                let reject = find(&self.rows, store, Kind::Reject, b.concurrency);
                out.push_str(&format!(
                    "{what}={}: {:.0}/s (p50 {:.2} ms, p99 {:.2} ms); service reject / this: {}\n",
                    b.concurrency,
                    m.per_second,
                    m.p50_ms,
                    m.p99_ms,
                    over(reject, m),
                ));
            }
        }
        out.push('\n');
        out.push_str("| target | wanted | measured | met |\n|---|---|---|---|\n");
        for t in &self.targets {
            let met = match t.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "not measured",
            };
            out.push_str(&format!(
                "| {} | {} | {} | {met} |\n",
                t.name, t.wanted, t.measured
            ));
        }
        out
    }
}

/// A row's service rate over a baseline's, as the table prints it.
fn over(row: Option<&Row>, baseline: &Measured) -> String {
    row.map_or("-".into(), |r| {
        format!(
            "{:.2}",
            r.service.per_second / baseline.per_second.max(1e-9)
        )
    })
}

fn find(rows: &[Row], store: Store, kind: Kind, c: usize) -> Option<&Row> {
    rows.iter()
        .find(|r| r.store == store && r.kind == kind && r.concurrency == c)
}

fn at_least(name: &'static str, wanted: f64, measured: Option<f64>) -> Target {
    Target {
        name,
        wanted: format!(">= {wanted:.2}"),
        measured: measured.map_or("-".into(), |m| format!("{m:.2}")),
        met: measured.map(|m| m >= wanted),
    }
}

fn at_most(name: &'static str, wanted: f64, unit: &str, measured: Option<f64>) -> Target {
    Target {
        name,
        wanted: format!("<= {wanted} {unit}"),
        measured: measured.map_or("-".into(), |m| format!("{m:.1} {unit}")),
        met: measured.map(|m| m <= wanted),
    }
}

/// Issue 5's targets, read off this run.
fn targets(
    rows: &[Row],
    startup_ms: [f64; 2],
    sqlite_baseline: &[Baseline],
    baseline: &[Baseline],
) -> Vec<Target> {
    let sqlite = |kind, c| find(rows, Store::Sqlite, kind, c);
    let ratio16 = |kind| sqlite(kind, 16).map(|r| r.ratio);
    let p99_64 = |kind| sqlite(kind, 64).map(|r| r.service.p99_ms);
    let shallow = Kind::List { deep: false };
    let deep = Kind::List { deep: true };
    let signed_vs_token = sqlite(Kind::ShowSigned, 16)
        .zip(sqlite(Kind::ShowToken, 16))
        .map(|(s, t)| s.service.per_second / t.service.per_second.max(1e-9));
    let pg_reject_vs_plain = find(rows, Store::Postgres, Kind::Reject, 16)
        .zip(baseline.iter().find(|b| b.concurrency == 16))
        .map(|(r, b)| r.service.per_second / b.plain_update.per_second.max(1e-9));
    let sqlite_reject_vs_raw = find(rows, Store::Sqlite, Kind::Reject, 16)
        .zip(sqlite_baseline.iter().find(|b| b.concurrency == 16))
        .map(|(r, b)| r.service.per_second / b.plain_update.per_second.max(1e-9));
    // A hot tenant against scattered rejects, on the same store in the same run.
    let one_domain = |store| {
        find(rows, store, Kind::RejectOneDomain, 16)
            .zip(find(rows, store, Kind::Reject, 16))
            .map(|(hot, spread)| hot.service.per_second / spread.service.per_second.max(1e-9))
    };
    // RssAnon, not the peak RSS: the SQLite database is memory-mapped, and its file
    // pages, which the peak counts, belong to the OS page cache.
    let mixed_rss = rows
        .iter()
        .filter(|r| r.store == Store::Sqlite && r.kind == Kind::Mixed)
        .map(|r| r.anon_rss_mib)
        .reduce(f64::max);
    vec![
        at_least("show ratio, c=16", 0.60, ratio16(Kind::ShowToken)),
        at_most(
            "SQLite RssAnon after show, c=16",
            150.0,
            "MiB",
            sqlite(Kind::ShowToken, 16).map(|r| r.anon_rss_mib),
        ),
        at_least("list offset 0 ratio, c=16", 0.25, ratio16(shallow)),
        at_least("list offset 1000 ratio, c=16", 0.25, ratio16(deep)),
        at_most("list offset 0 p99, c=64", 10.0, "ms", p99_64(shallow)),
        at_most("list offset 1000 p99, c=64", 10.0, "ms", p99_64(deep)),
        at_least("reject ratio, c=16", 0.35, ratio16(Kind::Reject)),
        at_least(
            "reject / raw batched SQLite update, c=16",
            0.65,
            sqlite_reject_vs_raw,
        ),
        at_least(
            "console list / API list, c=16",
            0.5,
            ratio16(Kind::ConsoleList),
        ),
        at_most(
            "console list p99, c=16",
            20.0,
            "ms",
            sqlite(Kind::ConsoleList, 16).map(|r| r.service.p99_ms),
        ),
        at_least("AK/SK show / token show, c=16", 0.90, signed_vs_token),
        at_least(
            "reject, one domain / scattered, c=16",
            0.90,
            one_domain(Store::Sqlite),
        ),
        at_least(
            "PostgreSQL show ratio, c=16",
            0.40,
            find(rows, Store::Postgres, Kind::ShowToken, 16).map(|r| r.ratio),
        ),
        at_least(
            "PostgreSQL list offset 0 ratio, c=16",
            0.25,
            find(rows, Store::Postgres, shallow, 16).map(|r| r.ratio),
        ),
        at_most(
            "PostgreSQL list offset 0 p99, c=64",
            10.0,
            "ms",
            find(rows, Store::Postgres, shallow, 64).map(|r| r.service.p99_ms),
        ),
        at_least(
            "PostgreSQL reject / plain update, c=16",
            0.50,
            pg_reject_vs_plain,
        ),
        at_least(
            "PostgreSQL reject, one domain / scattered, c=16",
            0.90,
            one_domain(Store::Postgres),
        ),
        at_most("RssAnon after mixed load", 150.0, "MiB", mixed_rss),
        at_most(
            "start-up to ready",
            1000.0,
            "ms",
            Some(startup_ms[0].max(startup_ms[1])),
        ),
    ]
}

/// Before measuring: the ceiling must answer each route with the service's JSON shape
/// (same member names), or the comparison would be unfair.
pub async fn check_same_shapes(
    data: &std::sync::Arc<Data>,
    service: SocketAddr,
    ceiling: SocketAddr,
) -> Result<(), String> {
    for kind in [Kind::ShowToken, Kind::List { deep: false }] {
        let workload = Bound {
            kind,
            data: data.clone(),
            for_ceiling: true,
        };
        let a = fetch_json(service, &workload, &mut Rng::new(1)).await?;
        let b = fetch_json(ceiling, &workload, &mut Rng::new(1)).await?;
        if shape(&a) != shape(&b) {
            return Err(format!(
                "{}: the ceiling answers another JSON shape\nservice: {a}\nceiling: {b}",
                kind.name()
            ));
        }
    }
    Ok(())
}

async fn fetch_json(
    addr: SocketAddr,
    workload: &Bound,
    rng: &mut Rng,
) -> Result<serde_json::Value, String> {
    let request = workload
        .request(rng, &addr.to_string())
        .ok_or("no request")?;
    let mut conn = Connection::open(addr).await.map_err(|e| e.to_string())?;
    let response = conn.send(&request).await.map_err(|e| e.to_string())?;
    if response.status != 200 {
        return Err(format!(
            "{addr}: HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ));
    }
    serde_json::from_slice(&response.body).map_err(|e| e.to_string())
}

/// Members the wire types omit when empty, so two rows may differ in them.
const OPTIONAL: [&str; 6] = [
    "auth_effective_time",
    "auth_expire_time",
    "reject_reason",
    "auth_handler_name",
    "port",
    "account",
];

/// Member names, recursively, less the optional ones (the first element stands for
/// an array).
fn shape(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !OPTIONAL.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        _ => Value::Null,
    }
}
