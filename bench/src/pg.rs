//! The PostgreSQL half: the same seeded data copied into a scratch database with the
//! service's own `db copy`, and the baseline issue 5 compares rejects with — a plain
//! single-row UPDATE per transaction, pgbench style, from the same number of clients.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::load::{ConnectionTally, Measured, summarize};
use crate::process::run_cli;
use crate::seed::{self, Template};

/// The scratch database, dropped and made again on every run.
const DATABASE: &str = "support_access_bench";

/// Connects as the server does: the URL's `sslmode` and `sslrootcert` are honoured by
/// the server's own reading of them (`store::postgres::connection`).
async fn connect(url: &str) -> Result<Client, String> {
    let shown = support_access::config::redacted_url(url);
    let (config, tls) =
        support_access::store::postgres::connection(url).map_err(|e| format!("{shown}: {e}"))?;
    let (client, connection) = config
        .connect(tls)
        .await
        .map_err(|e| format!("{shown}: {e}"))?;
    tokio::spawn(connection);
    Ok(client)
}

/// `url` with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A fresh copy of the template in PostgreSQL; returns its URL and the directory
/// holding the master key (and the SQLite original).
pub async fn prepare(
    admin_url: &str,
    binary: &Path,
    template: &Template,
    work: &Path,
) -> Result<(String, PathBuf), String> {
    let run_dir = work.join("run-pg");
    seed::copy_template(template, &run_dir)?;
    let sqlite_url = seed::database_url(&run_dir);
    // `db copy` wants both schemas at the same version.
    run_cli(binary, &["migrate", "--database-url", &sqlite_url])?;
    let admin = connect(admin_url).await?;
    // Two statements: CREATE DATABASE may not share an (implicit) transaction.
    for sql in [
        format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"),
        format!("CREATE DATABASE {DATABASE}"),
    ] {
        admin
            .batch_execute(&sql)
            .await
            .map_err(|e| format!("{sql}: {e}"))?;
    }
    let url = with_database(admin_url, DATABASE);
    eprintln!("bench: copying the seeded data into PostgreSQL");
    let started = Instant::now();
    run_cli(binary, &["db", "copy", "--from", &sqlite_url, "--to", &url])?;
    eprintln!("bench: copied in {:.0} s", started.elapsed().as_secs_f64());
    Ok((url, run_dir))
}

/// One UPDATE per transaction (autocommit) on a row of its own per client, from
/// `concurrency` connections: what PostgreSQL itself sustains for the smallest
/// durable write, with its own group commit across the clients.
pub async fn plain_update_rate(
    url: &str,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Measured, String> {
    let setup = connect(url).await?;
    setup
        .batch_execute(
            "DROP TABLE IF EXISTS bench_counters; \
             CREATE TABLE bench_counters (id INTEGER PRIMARY KEY, n BIGINT NOT NULL); \
             INSERT INTO bench_counters SELECT g, 0 FROM generate_series(0, 255) g",
        )
        .await
        .map_err(|e| e.to_string())?;
    let start = Instant::now() + warmup;
    let end = start + duration;
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let client = connect(url).await?;
        tasks.push(tokio::spawn(async move {
            let mut tally = ConnectionTally::default();
            let Ok(update) = client
                .prepare("UPDATE bench_counters SET n = n + 1 WHERE id = $1")
                .await
            else {
                tally.errors += 1;
                return tally;
            };
            let id = (i % 256) as i32;
            loop {
                let sent_at = Instant::now();
                if sent_at >= end {
                    return tally;
                }
                match client.execute(&update, &[&id]).await {
                    Ok(_) if sent_at >= start => tally
                        .latencies_us
                        .push(sent_at.elapsed().as_micros().min(u32::MAX as u128) as u32),
                    Ok(_) => {}
                    Err(e) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
        }));
    }
    let mut tallies = Vec::new();
    for task in tasks {
        tallies.push(task.await.unwrap_or_default());
    }
    Ok(summarize(tallies, start, end))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
