//! Speaking to a remote server: the endpoint, the credentials, signing, and turning
//! answers into values or errors.

use std::path::PathBuf;

use reqwest::{Method, Url};
use serde_json::Value;

use super::ClientError;
use super::credentials::Credentials;
use crate::auth::sdk_signature::{self, RawRequest};

/// Where the server is and how to trust it; every remote command takes these.
#[derive(clap::Args, Clone)]
pub struct RemoteArgs {
    /// The server's base URL, e.g. https://support-access.example:8443.
    #[arg(long, env = "SUPPORT_ACCESS_ENDPOINT")]
    pub endpoint: Option<String>,
    /// A PEM file of CA certificates to trust besides the system's (for a private CA).
    #[arg(long, env = "SUPPORT_ACCESS_CACERT")]
    pub cacert: Option<PathBuf>,
}

/// A server and an HTTP client for it.
pub struct Remote {
    pub endpoint: Url,
    client: reqwest::Client,
}

impl Remote {
    pub fn new(args: &RemoteArgs) -> Result<Remote, ClientError> {
        let text = args.endpoint.as_deref().ok_or_else(|| {
            ClientError::Usage("no endpoint: pass --endpoint or set SUPPORT_ACCESS_ENDPOINT".into())
        })?;
        let endpoint = Url::parse(text.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| ClientError::Usage(format!("`{text}` is not an http(s) URL")))?;
        let mut builder = crate::tls::http_client()
            .user_agent(concat!("support-access-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &args.cacert {
            let pem = std::fs::read(path)
                .map_err(|e| ClientError::Usage(format!("cannot read {}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ClientError::Usage(format!("{}: not a PEM certificate: {e}", path.display()))
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder
            .build()
            .map_err(|e| ClientError::Failed(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Remote { endpoint, client })
    }

    /// The URL of `path` (which starts with `/`) with `query` pairs (`None` values left out).
    pub fn url(&self, path: &str, query: &[(&str, Option<String>)]) -> Url {
        let mut url = self.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        let given: Vec<_> = query
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
            .collect();
        if !given.is_empty() {
            url.query_pairs_mut().extend_pairs(given);
        }
        url
    }

    /// Sends a request without credentials; returns the response as received.
    pub async fn send_plain(
        &self,
        method: Method,
        url: Url,
        body: &Value,
    ) -> Result<reqwest::Response, ClientError> {
        self.client
            .request(method, url)
            .header("content-type", "application/json")
            .header("x-language", "en-us")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| connection_failed(&self.endpoint, &e))
    }

    /// Sends a request as `who` and returns its JSON answer, or the API's error.
    pub async fn call(
        &self,
        who: &Credentials,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut headers: Vec<(&str, String)> = vec![
            ("content-type", "application/json".into()),
            ("x-language", "en-us".into()),
        ];
        match who {
            Credentials::Token(token) => headers.push(("x-auth-token", token.expose().into())),
            Credentials::AccessKey {
                access_key,
                secret_key,
                domain_id,
            } => {
                headers.push(("host", host_header(&url)));
                headers.push((
                    "x-sdk-date",
                    sdk_signature::sdk_date(jiff::Timestamp::now()),
                ));
                if let Some(domain) = domain_id {
                    headers.push(("x-domain-id", domain.clone()));
                }
                let raw: Vec<(&str, &[u8])> =
                    headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
                let request = RawRequest {
                    method: method.as_str(),
                    raw_path: url.path(),
                    raw_query: url.query(),
                    headers: &raw,
                    body: body.as_bytes(),
                };
                let signed = sdk_signature::authorization(
                    access_key,
                    secret_key.expose().as_bytes(),
                    &request,
                )
                .map_err(|e| ClientError::Failed(format!("cannot sign the request: {e}")))?;
                headers.push(("authorization", signed));
            }
        }
        let mut request = self.client.request(method, url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| connection_failed(&self.endpoint, &e))?;
        answer(response).await
    }
}

/// The `Host` header the client sends: the host, and the port unless it is the scheme's.
fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn connection_failed(endpoint: &Url, e: &reqwest::Error) -> ClientError {
    // The chain names the cause (refused, certificate not trusted, ...).
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    ClientError::Failed(format!("cannot reach {endpoint}: {reason}"))
}

/// The JSON body of a success; the API error of anything else. Some operations
/// (CheckHosts) answer 200 with an error body, which is an error too.
pub async fn answer(response: reqwest::Response) -> Result<Value, ClientError> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| ClientError::Failed(format!("the answer was cut off: {e}")))?;
    let value: Value = if text.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(&text).map_err(|_| {
            ClientError::Failed(format!(
                "HTTP {status}: the answer is not JSON: {}",
                text.chars().take(200).collect::<String>()
            ))
        })?
    };
    if let Some(code) = value.get("error_code").and_then(Value::as_str) {
        return Err(ClientError::Api {
            status: status.as_u16(),
            code: code.to_owned(),
            message: value["error_msg"].as_str().unwrap_or_default().to_owned(),
        });
    }
    if !status.is_success() {
        return Err(ClientError::Failed(format!("HTTP {status}: {text}")));
    }
    Ok(value)
}
