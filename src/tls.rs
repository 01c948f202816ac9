//! TLS with rustls on the `ring` provider (the one russh already builds): the HTTPS
//! listener's configuration, whose certificate is reloaded on SIGHUP, and the HTTP
//! client. The handshake itself runs in the connection loop (`http::connections`), so
//! HTTPS gets the same connection limit and timeouts as plain HTTP.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

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
    fn load(&self) -> std::io::Result<Arc<ServerConfig>> {
        install_crypto_provider();
        let failed = |e: &dyn std::fmt::Display| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "TLS certificate {} or key {}: {e}",
                    self.cert.display(),
                    self.key.display()
                ),
            )
        };
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| failed(&e))?;
        if chain.is_empty() {
            return Err(failed(&"no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| failed(&e))?;
        let mut config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| failed(&e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The HTTPS listener's TLS configuration. SIGHUP reloads the certificate for new
/// connections; open ones keep theirs. A certificate that fails to load at SIGHUP is
/// logged and the current one kept. Dropping it stops listening for SIGHUP.
pub struct ReloadingTls {
    current: Arc<RwLock<Arc<ServerConfig>>>,
    reloader: tokio::task::JoinHandle<()>,
}

impl ReloadingTls {
    /// Loads the files (an error if they do not load) and starts watching for SIGHUP.
    pub fn start(files: CertificateFiles) -> std::io::Result<ReloadingTls> {
        let current = Arc::new(RwLock::new(files.load()?));
        // Registered before the first connection is accepted, so no SIGHUP is missed.
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let replaced = current.clone();
        let reloader = tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match files.load() {
                    Ok(config) => {
                        *replaced
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
                        tracing::info!("TLS certificate reloaded");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "TLS certificate not reloaded; the current one stays");
                    }
                }
            }
        });
        Ok(ReloadingTls { current, reloader })
    }

    /// The acceptor for the next connection, with the certificate loaded last.
    pub fn acceptor(&self) -> TlsAcceptor {
        let config = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        TlsAcceptor::from(config)
    }
}

impl Drop for ReloadingTls {
    fn drop(&mut self) {
        self.reloader.abort();
    }
}
