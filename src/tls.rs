//! TLS with rustls on the `ring` provider (the one russh already builds): the HTTPS
//! listener, whose certificate is reloaded on SIGHUP, and the HTTP client.

use std::future::Future;
use std::path::PathBuf;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;

/// Makes `ring` the process's rustls provider; later calls change nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client builder whose TLS runs on that provider.
pub fn http_client() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

/// The listener's certificate chain and private key, PEM files.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertificateFiles {
    async fn load(&self) -> std::io::Result<RustlsConfig> {
        RustlsConfig::from_pem_file(&self.cert, &self.key)
            .await
            .map_err(|e| self.failed(e))
    }

    async fn reload(&self, config: &RustlsConfig) -> std::io::Result<()> {
        config
            .reload_from_pem_file(&self.cert, &self.key)
            .await
            .map_err(|e| self.failed(e))
    }

    fn failed(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(
            e.kind(),
            format!(
                "TLS certificate {} or key {}: {e}",
                self.cert.display(),
                self.key.display()
            ),
        )
    }
}

/// Serves `router` over HTTPS on `listener` until `shutdown` completes, then lets open
/// connections finish. SIGHUP reloads the certificate for new connections; open ones
/// keep theirs. A certificate that fails to load at SIGHUP is logged and the current
/// one kept.
pub async fn serve_https(
    listener: TcpListener,
    router: Router,
    files: CertificateFiles,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    install_crypto_provider();
    let config = files.load().await?;
    // Registered before the first connection is accepted, so no SIGHUP is missed.
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let reloading = config.clone();
    let reloader = tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match files.reload(&reloading).await {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate not reloaded; the current one stays");
                }
            }
        }
    });
    let handle = Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.graceful_shutdown(None);
    });
    let result = axum_server::from_tcp_rustls(listener.into_std()?, config)?
        .handle(handle)
        .serve(router.into_make_service())
        .await;
    reloader.abort();
    result
}
