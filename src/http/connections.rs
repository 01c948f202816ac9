//! The connection loop: at most `max_connections` served at once (further ones wait in
//! the listen backlog), and a client that does not send a request's headers within
//! `header_read_timeout` is disconnected. hyper starts that timer whenever a connection
//! waits for a request, so it also closes idle keep-alive connections. With TLS, the
//! handshake runs here too, within the same timeout and under the same limit, so HTTPS
//! clients get no more rope than plain ones.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until `shutdown`
/// completes, then lets open connections finish their requests (for at most
/// `drain_timeout`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<crate::tls::ReloadingTls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Connections are told to finish through this; the drain waits for their permits.
    // (hyper-util's GracefulShutdown does not take connections that may be upgraded,
    // which the live view's WebSocket needs.)
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // E.g. out of file descriptors: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            http: http.clone(),
            stop: stop.clone(),
            peer,
            router: router.clone(),
        };
        let acceptor = tls.as_ref().map(crate::tls::ReloadingTls::acceptor);
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            match acceptor {
                None => connection.serve(stream).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection.serve(stream).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.drain_timeout, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
    Ok(())
}

/// One accepted connection, plain or after its TLS handshake.
struct Connection {
    http: hyper::server::conn::http1::Builder,
    /// Becomes `true` when the server stops: finish the request in flight, then close.
    stop: tokio::sync::watch::Receiver<bool>,
    peer: SocketAddr,
    router: Router,
}

impl Connection {
    async fn serve(self, io: impl AsyncRead + AsyncWrite + Unpin + Send + 'static) {
        let (router, peer) = (self.router, self.peer);
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let connection = self
            .http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let mut connection = std::pin::pin!(connection);
        let mut stop = self.stop;
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            _ = async { stop.wait_for(|s| *s).await.map(|_| ()) } => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = ended {
            tracing::debug!(%peer, error = %e, "connection ended");
        }
    }
}
