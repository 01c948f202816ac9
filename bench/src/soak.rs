//! `--soak MINUTES`: mixed traffic plus failed logins and slow clients against the
//! service for a long while, its RSS read at every sample, and the slope after warm-up
//! (MiB per minute; a service that does not leak stays near 0, the target is ≤ 1).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::load::{self, Connection, http_request};
use crate::process::Server;
use crate::workloads::{Bound, Data, Kind};

/// Concurrent mixed-workload connections, failed-login loops and slow clients.
const MIXED: usize = 16;
const LOGIN_LOOPS: usize = 4;
const SLOW_CLIENTS: usize = 50;

pub struct Soak {
    pub duration: Duration,
    pub sample_every: Duration,
}

/// RSS samples (minutes since the start, MiB) and the slope after the first fifth.
pub struct SoakReport {
    pub samples: Vec<(f64, f64)>,
    pub slope_mib_per_min: f64,
    pub mixed_requests: u64,
}

impl SoakReport {
    pub fn print(&self) {
        println!("soak: RSS of the service");
        for (minute, mib) in &self.samples {
            println!("  {minute:7.2} min  {mib:8.1} MiB");
        }
        println!(
            "soak: slope after warm-up {:+.3} MiB/min ({} mixed requests)",
            self.slope_mib_per_min, self.mixed_requests
        );
    }
}

pub async fn run(server: &Server, data: &Arc<Data>, soak: &Soak) -> SoakReport {
    let started = Instant::now();
    let end = started + soak.duration;
    let workload = Arc::new(Bound {
        kind: Kind::Mixed,
        data: data.clone(),
        for_ceiling: false,
    });
    let mixed = tokio::spawn(load::drive(
        server.addr,
        MIXED,
        Duration::ZERO,
        soak.duration,
        workload,
        7,
    ));
    let logins: Vec<_> = (0..LOGIN_LOOPS)
        .map(|i| tokio::spawn(failed_logins(server.addr, i, end)))
        .collect();
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| tokio::spawn(slow_client(server.addr, end)))
        .collect();
    let mut samples = vec![(0.0, rss_mib(server))];
    while Instant::now() < end {
        tokio::time::sleep(soak.sample_every.min(end - Instant::now())).await;
        samples.push((started.elapsed().as_secs_f64() / 60.0, rss_mib(server)));
    }
    let measured = mixed.await.unwrap_or_default();
    for task in logins.into_iter().chain(slow) {
        let _ = task.await;
    }
    let warm = samples.len() / 5;
    SoakReport {
        slope_mib_per_min: slope(&samples[warm..]),
        samples,
        mixed_requests: measured.requests,
    }
}

/// Wrong passwords, back to back, on one connection at a time.
async fn failed_logins(addr: SocketAddr, i: usize, end: Instant) {
    let host = addr.to_string();
    let body = format!(
        r#"{{"auth":{{"identity":{{"methods":["password"],"password":{{"user":{{"name":"soak-{i}","password":"wrong-password","domain":{{"name":"bench-00000"}}}}}}}}}}}}"#
    );
    let request = http_request("POST", "/v3/auth/tokens", &host, &[], body.as_bytes());
    while Instant::now() < end {
        let Ok(mut conn) = Connection::open(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        while Instant::now() < end && conn.send(&request).await.is_ok() {}
    }
}

/// Sends a request head one byte every two seconds until the server hangs up, then
/// starts again.
async fn slow_client(addr: SocketAddr, end: Instant) {
    let head = b"GET /healthz HTTP/1.1\r\nHost: soak\r\nX-Slow: ";
    while Instant::now() < end {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        for byte in head.iter().cycle() {
            if Instant::now() >= end || stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            let mut probe = [0u8; 64];
            match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                _ => {}
            }
        }
    }
}

fn rss_mib(server: &Server) -> f64 {
    std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Least-squares slope of (x, y).
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    if den == 0.0 { 0.0 } else { num / den }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slope_of_a_line() {
        let points: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 + 0.5 * x as f64)).collect();
        assert!((super::slope(&points) - 0.5).abs() < 1e-9);
        assert_eq!(super::slope(&points[..1]), 0.0);
    }
}
