//! `support-access-bench`: seeds a database, starts the release server and an
//! in-memory ceiling, drives both with the same workloads at several concurrencies and
//! reports each figure as a ratio to the ceiling. See docs/PERFORMANCE.md.

mod ceiling;
mod disk;
mod load;
mod pg;
mod process;
mod report;
mod rng;
mod seed;
mod soak;
mod sqlite_baseline;
mod webhook;
mod workloads;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use load::Measured;
use process::Server;
use report::{Report, Row, Store};
use workloads::{Bound, Data, Kind};

#[derive(Parser)]
#[command(
    name = "support-access-bench",
    about = "Load benchmark with a same-run ceiling"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Internal>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Internal {
    /// The in-memory ceiling server (started by the benchmark itself).
    #[command(hide = true)]
    Ceiling {
        #[arg(long)]
        database: PathBuf,
    },
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// Authorizations to seed.
    #[arg(long, default_value_t = 1_000_000)]
    authorizations: u64,
    /// Customer domains (tenant sizes fall off as 1/rank).
    #[arg(long, default_value_t = 1000)]
    domains: usize,
    /// Users per domain, the first an admin.
    #[arg(long, default_value_t = 10)]
    users_per_domain: usize,
    /// Measured seconds per workload and concurrency.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds before each measurement.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Concurrencies, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64])]
    concurrency: Vec<usize>,
    /// A ~1–2 minute run: 100,000 authorizations, 2 s per measurement.
    #[arg(long)]
    quick: bool,
    /// Templates and run databases go here (default: <target>/bench).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Also write the JSON report here (it always goes to <work-dir>/last-run.json).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Keep the service's log in this file (default: discarded, but still written).
    #[arg(long)]
    server_log: Option<PathBuf>,
    /// Only these workloads (default all): show, show-aksk, list, list-deep, console-list,
    /// reject, mixed.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Also run the service on PostgreSQL: a scratch database `support_access_bench` is
    /// made through this URL (e.g. postgres://postgres@127.0.0.1:5432/test) and dropped
    /// and made again on the next run.
    #[arg(long)]
    postgres: Option<String>,
    /// Threads of the load generator.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// Instead of the measurements: this many minutes of mixed traffic with failed
    /// logins and slow clients, printing the service's RSS and its slope (e.g. 30).
    #[arg(long)]
    soak: Option<f64>,
    /// Seconds between RSS samples in a soak.
    #[arg(long, default_value_t = 60.0)]
    soak_sample_secs: f64,
}

impl RunArgs {
    fn resolved(mut self) -> RunArgs {
        if self.quick {
            self.authorizations = 100_000;
            self.duration = 2.0;
            self.warmup = 0.5;
        }
        self
    }

    fn work_dir(&self) -> Result<PathBuf, String> {
        if let Some(dir) = &self.work_dir {
            return Ok(dir.clone());
        }
        // <target>/release/support-access-bench → <target>/bench
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let target = exe
            .parent()
            .and_then(|p| p.parent())
            .ok_or("no target dir")?;
        Ok(target.join("bench"))
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Internal::Ceiling { database }) => runtime(None)
            .block_on(ceiling::serve(&database))
            .map(|_| ()),
        None => {
            let args = cli.run.resolved();
            runtime(Some(args.client_threads)).block_on(run(args))
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `None`: tokio's default, as the service uses (one worker per CPU).
fn runtime(threads: Option<usize>) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        builder.worker_threads(n);
    }
    builder.enable_all().build().expect("a tokio runtime")
}

async fn run(args: RunArgs) -> Result<(), String> {
    let binary = process::service_binary()?;
    let work = args.work_dir()?;
    let shape = seed::Shape {
        authorizations: args.authorizations,
        domains: args.domains,
        users_per_domain: args.users_per_domain,
    };
    let template = seed::template(&work.join("templates"), shape).await?;
    let run_dir = work.join("run");
    seed::copy_template(&template, &run_dir)?;
    let data = Data::new(seed::population(&run_dir, template.users.clone())?, 42);

    let fsync_ms = disk::fsync_median_ms(&run_dir)?;
    eprintln!("bench: fsync (4 KiB append + fdatasync) median {fsync_ms:.3} ms");

    let log = args.server_log.as_deref();
    let sqlite_url = seed::database_url(&run_dir);
    // A template seeded by an older build gets the newer migrations here, so that
    // start-up is measured on an up-to-date database, as an upgrade would leave it.
    process::run_cli(&binary, &["migrate", "--database-url", &sqlite_url])?;
    seed::console_sessions(&run_dir, &template.users)?;
    let server = process::start_service(&binary, &sqlite_url, &run_dir, log).await?;
    let first_startup = server.startup;
    eprintln!("bench: service ready in {:.0} ms", ms(first_startup));
    if let Some(minutes) = args.soak {
        let soak = soak::Soak {
            duration: Duration::from_secs_f64(minutes * 60.0),
            sample_every: Duration::from_secs_f64(args.soak_sample_secs),
        };
        soak::run(&server, &data, &soak).await.print();
        server.stop();
        return Ok(());
    }
    let ceiling = process::start_ceiling(&seed::db_path(&run_dir))?;
    report::check_same_shapes(&data, server.addr, ceiling.addr).await?;

    let mut rows = Vec::new();
    let chosen: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| args.only.is_empty() || args.only.iter().any(|o| o == k.flag()))
        .collect();
    let run = Run {
        args: &args,
        ceiling: &ceiling,
    };
    run.measure_all(&data, Store::Sqlite, &chosen, &server, &mut rows)
        .await;
    server.stop();
    // Start-up again, now on a database that has taken writes.
    let restarted = process::start_service(&binary, &sqlite_url, &run_dir, log).await?;
    let second_startup = restarted.startup;
    restarted.stop();
    let webhook_rows = if chosen.contains(&Kind::Reject) {
        webhook::measure(
            &binary,
            &sqlite_url,
            &run_dir,
            log,
            &data,
            &args.concurrency,
            run.timing(),
        )
        .await?
    } else {
        Vec::new()
    };

    // The raw durable write the SQLite rejects are compared with, with the service
    // stopped: batches of c updates per commit on a table as long as the seeded one.
    let mut sqlite_baseline = Vec::new();
    if chosen.contains(&Kind::Reject) {
        for &c in &args.concurrency {
            let (warmup, duration) = run.timing();
            let raw = sqlite_baseline::batched_update_rate(
                &run_dir,
                args.authorizations,
                c,
                warmup,
                duration,
            )?;
            eprintln!(
                "bench: SQLite raw batched UPDATE, batches of {c}: {:.0}/s",
                raw.per_second
            );
            sqlite_baseline.push((c, raw));
        }
    }

    let mut baseline = Vec::new();
    if let Some(admin_url) = &args.postgres {
        let (url, pg_dir) = pg::prepare(admin_url, &binary, &template, &work).await?;
        let data = Data::new(seed::population(&pg_dir, template.users.clone())?, 43);
        let server = process::start_service(&binary, &url, &pg_dir, log).await?;
        // The console's sessions are seeded on SQLite only.
        let chosen: Vec<Kind> = chosen
            .iter()
            .copied()
            .filter(|k| *k != Kind::ConsoleList)
            .collect();
        run.measure_all(&data, Store::Postgres, &chosen, &server, &mut rows)
            .await;
        server.stop();
        for &c in &args.concurrency {
            let (warmup, duration) = run.timing();
            let plain = pg::plain_update_rate(&url, c, warmup, duration).await?;
            eprintln!(
                "bench: PostgreSQL plain update, c={c}: {:.0}/s",
                plain.per_second
            );
            baseline.push((c, plain));
        }
    }
    drop(ceiling);

    let report = Report::new(
        &args_summary(&args),
        rows,
        [first_startup, second_startup],
        fsync_ms,
        sqlite_baseline,
        baseline,
        webhook_rows,
    );
    print!("{}", report.table());
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(work.join("last-run.json"), &json).map_err(|e| e.to_string())?;
    if let Some(path) = &args.json {
        std::fs::write(path, &json).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn args_summary(args: &RunArgs) -> report::Setup {
    report::Setup {
        authorizations: args.authorizations,
        domains: args.domains,
        users_per_domain: args.users_per_domain,
        duration_s: args.duration,
        warmup_s: args.warmup,
        client_threads: args.client_threads,
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What every measurement of a run shares.
struct Run<'a> {
    args: &'a RunArgs,
    ceiling: &'a Server,
}

impl Run<'_> {
    /// (warm-up, measured duration) of each measurement.
    fn timing(&self) -> (Duration, Duration) {
        (
            Duration::from_secs_f64(self.args.warmup),
            Duration::from_secs_f64(self.args.duration),
        )
    }

    /// Every chosen workload at every concurrency, appended to `rows`.
    async fn measure_all(
        &self,
        data: &Arc<Data>,
        store: Store,
        kinds: &[Kind],
        server: &Server,
        rows: &mut Vec<Row>,
    ) {
        for &kind in kinds {
            for &c in &self.args.concurrency {
                let row = self.measure(data, store, kind, c, server, rows).await;
                rows.push(row);
            }
        }
    }

    /// One (workload, concurrency): the ceiling first (unless an earlier row measured
    /// the same ceiling), then the service, back to back so drift hits both alike.
    async fn measure(
        &self,
        data: &Arc<Data>,
        store: Store,
        kind: Kind,
        concurrency: usize,
        server: &Server,
        done: &[Row],
    ) -> Row {
        let (warmup, duration) = self.timing();
        let ceiling = self.ceiling;
        let kind_no = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        let seed = concurrency as u64 * 1000 + kind_no as u64;
        let shared_ceiling = done
            .iter()
            .find(|r| {
                r.store == store
                    && r.ceiling_kind == kind.ceiling()
                    && r.concurrency == concurrency
                    && (r.kind == Kind::ConsoleList) == (kind == Kind::ConsoleList)
            })
            .map(|r| r.ceiling.clone());
        let ceiling_measured: Measured = match shared_ceiling {
            Some(m) => m,
            // The console's page against the API's list, both on the service.
            None if kind == Kind::ConsoleList => {
                let workload = Arc::new(Bound {
                    kind: kind.ceiling(),
                    data: data.clone(),
                    for_ceiling: false,
                });
                load::drive(server.addr, concurrency, warmup, duration, workload, seed).await
            }
            None => {
                let workload = Arc::new(Bound {
                    kind: kind.ceiling(),
                    data: data.clone(),
                    for_ceiling: true,
                });
                load::drive(ceiling.addr, concurrency, warmup, duration, workload, seed).await
            }
        };
        server.reset_peak_rss();
        let workload = Arc::new(Bound {
            kind,
            data: data.clone(),
            for_ceiling: false,
        });
        let service = load::drive(server.addr, concurrency, warmup, duration, workload, seed).await;
        let row = Row::new(
            store,
            kind,
            concurrency,
            service,
            ceiling_measured,
            server.peak_rss_mib(),
            server.anon_rss_mib(),
        );
        eprintln!("{}", row.line());
        if kind == Kind::ConsoleList {
            eprintln!(
                "bench: console list and its baseline list the largest domain: {} authorizations",
                data.largest_domain_size()
            );
        }
        if kind == Kind::Reject || kind == Kind::Mixed {
            eprintln!("bench: {} pending authorizations left", data.pending_left());
        }
        if kind == Kind::RejectOneDomain {
            eprintln!(
                "bench: {} pending authorizations of the largest domain left",
                data.hot_pending_left()
            );
        }
        row
    }
}
