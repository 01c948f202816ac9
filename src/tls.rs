//! TLS with rustls on the `ring` provider (the one russh already builds).

/// Makes `ring` the process's rustls provider; later calls change nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client builder whose TLS runs on that provider.
pub fn http_client() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}
