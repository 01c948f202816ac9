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

#[derive(Serialize, Clone)]
pub struct Row {
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
}

impl Row {
    pub fn new(
        kind: Kind,
        concurrency: usize,
        service: Measured,
        ceiling: Measured,
        peak_rss_mib: f64,
    ) -> Row {
        let ratio = if ceiling.per_second > 0.0 {
            service.per_second / ceiling.per_second
        } else {
            0.0
        };
        Row {
            workload: kind.name(),
            kind,
            ceiling_kind: kind.ceiling(),
            concurrency,
            service,
            ceiling,
            ratio,
            peak_rss_mib,
        }
    }

    pub fn line(&self) -> String {
        let s = &self.service;
        let c = &self.ceiling;
        let mut line = format!(
            "| {:<16} | {:>3} | {:>8.0} | {:>6.2} | {:>6.2} | {:>8.0} | {:>6.2} | {:>6.2} | {:>5.2} | {:>6.1} |",
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

#[derive(Serialize)]
pub struct Report {
    pub setup: Setup,
    pub startup_ms: [f64; 2],
    pub rows: Vec<Row>,
    pub targets: Vec<Target>,
}

impl Report {
    pub fn new(setup: &Setup, rows: Vec<Row>, startups: [Duration; 2]) -> Report {
        let startup_ms = startups.map(|d| d.as_secs_f64() * 1000.0);
        let targets = targets(&rows, startup_ms);
        Report {
            setup: setup.clone(),
            startup_ms,
            rows,
            targets,
        }
    }

    pub fn table(&self) -> String {
        let s = &self.setup;
        let mut out = format!(
            "\n{} authorizations over {} domains ({} users each), synchronous=FULL, {} CPUs, \
             {} s per run after {} s warm-up; latencies in ms\n\n",
            s.authorizations, s.domains, s.users_per_domain, s.cpus, s.duration_s, s.warmup_s
        );
        out.push_str("| workload         |   c |  service |    p50 |    p99 |  ceiling |    p50 |    p99 | ratio | RSS MiB |\n");
        out.push_str("|------------------|----:|---------:|-------:|-------:|---------:|-------:|-------:|------:|-------:|\n");
        for row in &self.rows {
            out.push_str(&row.line());
            out.push('\n');
        }
        out.push_str(&format!(
            "\nstart-up to ready: {:.0} ms (fresh copy), {:.0} ms (after the load)\n\n",
            self.startup_ms[0], self.startup_ms[1]
        ));
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

fn find(rows: &[Row], kind: Kind, c: usize) -> Option<&Row> {
    rows.iter().find(|r| r.kind == kind && r.concurrency == c)
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
fn targets(rows: &[Row], startup_ms: [f64; 2]) -> Vec<Target> {
    let ratio16 = |kind| find(rows, kind, 16).map(|r| r.ratio);
    let p99_64 = |kind| find(rows, kind, 64).map(|r| r.service.p99_ms);
    let shallow = Kind::List { deep: false };
    let deep = Kind::List { deep: true };
    let signed_vs_token = find(rows, Kind::ShowSigned, 16)
        .zip(find(rows, Kind::ShowToken, 16))
        .map(|(s, t)| s.service.per_second / t.service.per_second.max(1e-9));
    let mixed_rss = rows
        .iter()
        .filter(|r| r.kind == Kind::Mixed)
        .map(|r| r.peak_rss_mib)
        .reduce(f64::max);
    vec![
        at_least("show ratio, c=16", 0.60, ratio16(Kind::ShowToken)),
        at_least("list offset 0 ratio, c=16", 0.25, ratio16(shallow)),
        at_least("list offset 1000 ratio, c=16", 0.25, ratio16(deep)),
        at_most("list offset 0 p99, c=64", 10.0, "ms", p99_64(shallow)),
        at_most("list offset 1000 p99, c=64", 10.0, "ms", p99_64(deep)),
        at_least("reject ratio, c=16", 0.35, ratio16(Kind::Reject)),
        at_least("AK/SK show / token show, c=16", 0.90, signed_vs_token),
        at_most("peak RSS under mixed load", 150.0, "MiB", mixed_rss),
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
