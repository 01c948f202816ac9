//! The load generator: `concurrency` keep-alive HTTP/1.1 connections, each sending its
//! next request as soon as the previous answer is in (a closed loop, like wrk). The
//! client is a few lines over a socket so that it costs the shared CPUs as little as
//! possible: both servers are measured through it, so its cost lowers every ratio.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::rng::Rng;

/// Builds the next request for a server at `host`; `None` when the workload has run
/// out (e.g. no pending authorization left to reject).
pub trait Workload: Send + Sync {
    fn request(&self, rng: &mut Rng, host: &str) -> Option<Vec<u8>>;
}

/// One connection to a server.
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A response's status and body.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends one request and reads its whole response.
    pub async fn send(&mut self, request: &[u8]) -> std::io::Result<Response> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = &self.buf[..head_end];
        let status = std::str::from_utf8(head.get(9..12).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("no status line"))?;
        let length = content_length(head).ok_or_else(|| invalid("no content-length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        Ok(Response {
            status,
            body: self.buf[head_end..head_end + length].to_vec(),
        })
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(invalid("the server closed the connection"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(head).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

/// A request with the usual headers; `headers` are extra `Name: value` lines.
pub fn http_request(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        out.push_str("Content-Type: application/json\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// What one (workload, concurrency) run measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Measured {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The workload ran out before the end (its rate covers the time it ran).
    pub exhausted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// What one connection saw; [`summarize`] merges them.
#[derive(Default)]
pub struct ConnectionTally {
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub first_error: Option<String>,
    pub exhausted_at: Option<Instant>,
}

/// Drives `workload` at `concurrency` for `warmup` (not counted) then `duration`.
pub async fn drive(
    addr: SocketAddr,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    workload: Arc<dyn Workload>,
    seed: u64,
) -> Measured {
    let start = Instant::now() + warmup;
    let end = start + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|i| {
            let workload = workload.clone();
            let rng = Rng::new(seed ^ ((i as u64 + 1) << 32));
            tokio::spawn(connection_loop(addr, workload, rng, start, end))
        })
        .collect();
    let mut tallies = Vec::new();
    for task in tasks {
        tallies.push(task.await.unwrap_or_default());
    }
    summarize(tallies, start, end)
}

async fn connection_loop(
    addr: SocketAddr,
    workload: Arc<dyn Workload>,
    mut rng: Rng,
    start: Instant,
    end: Instant,
) -> ConnectionTally {
    let mut tally = ConnectionTally::default();
    let host = addr.to_string();
    let mut conn = match Connection::open(addr).await {
        Ok(c) => c,
        Err(e) => {
            tally.errors += 1;
            tally.first_error = Some(format!("connect: {e}"));
            return tally;
        }
    };
    loop {
        let sent_at = Instant::now();
        if sent_at >= end {
            return tally;
        }
        let Some(request) = workload.request(&mut rng, &host) else {
            tally.exhausted_at = Some(sent_at);
            return tally;
        };
        let outcome = conn.send(&request).await;
        let counted = sent_at >= start;
        match outcome {
            Ok(r) if r.status < 300 => {
                if counted {
                    let us = sent_at.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    tally.latencies_us.push(us);
                }
            }
            Ok(r) => {
                tally.errors += u64::from(counted);
                tally.first_error.get_or_insert_with(|| {
                    let body = String::from_utf8_lossy(&r.body);
                    format!(
                        "HTTP {}: {}",
                        r.status,
                        body.chars().take(200).collect::<String>()
                    )
                });
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| e.to_string());
                match Connection::open(addr).await {
                    Ok(c) => conn = c,
                    Err(_) => return tally,
                }
            }
        }
    }
}

pub fn summarize(tallies: Vec<ConnectionTally>, start: Instant, end: Instant) -> Measured {
    let exhausted_at = tallies.iter().filter_map(|t| t.exhausted_at).min();
    let stop = exhausted_at.map_or(end, |at| at.clamp(start, end));
    let seconds = stop.duration_since(start).as_secs_f64().max(1e-3);
    let errors = tallies.iter().map(|t| t.errors).sum();
    let first_error = tallies.iter().find_map(|t| t.first_error.clone());
    let mut all: Vec<u32> = tallies.into_iter().flat_map(|t| t.latencies_us).collect();
    all.sort_unstable();
    let quantile = |q: f64| {
        if all.is_empty() {
            return 0.0;
        }
        let index = ((all.len() as f64 * q).ceil() as usize).clamp(1, all.len()) - 1;
        f64::from(all[index]) / 1000.0
    };
    Measured {
        requests: all.len() as u64,
        errors,
        seconds,
        per_second: all.len() as f64 / seconds,
        p50_ms: quantile(0.50),
        p99_ms: quantile(0.99),
        exhausted: exhausted_at.is_some_and(|at| at < end),
        first_error,
    }
}
