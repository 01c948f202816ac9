//! PostgreSQL outages: while the database is unreachable the API answers 503 with the
//! error body and `/readyz` fails; when it is back the same server recovers by itself.
//! The server reaches PostgreSQL through a TCP proxy the test cuts and restores, so
//! the shared cluster is never restarted.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{Resp, TestServer, World, on_postgres_or_skip, postgres_url};

/// Forwards connections to `target` while up; while down it closes every forwarded
/// connection and hangs up on new ones at once, as a dead database host would.
struct Proxy {
    address: SocketAddr,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (up, watching) = watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !*watching.borrow() {
                    continue; // dropping `inbound` hangs up
                }
                let mut down = watching.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { address, up }
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

/// `url` with its host and port replaced by `address`.
fn through(url: &str, address: SocketAddr) -> String {
    let scheme_end = url.find("://").unwrap() + 3;
    let authority_end = scheme_end + url[scheme_end..].find('/').unwrap();
    let authority = &url[scheme_end..authority_end];
    let user = authority.rsplit_once('@').map_or("", |(user, _)| user);
    let at = if user.is_empty() { "" } else { "@" };
    format!(
        "{}{user}{at}{address}{}",
        &url[..scheme_end],
        &url[authority_end..]
    )
}

/// The first address the configured PostgreSQL URL names.
async fn postgres_address() -> SocketAddr {
    let (config, _) =
        support_access::store::postgres::connection(&postgres_url().unwrap()).unwrap();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(host) => host.clone(),
        other => panic!("the outage test needs a TCP host, not {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    tokio::net::lookup_host((host.as_str(), port))
        .await
        .unwrap()
        .next()
        .unwrap()
}

async fn ready(w: &World) -> Resp {
    w.call("GET", "/readyz", None, None).await
}

#[tokio::test]
async fn an_unreachable_database_is_503_until_it_returns() {
    if !on_postgres_or_skip("an_unreachable_database_is_503_until_it_returns") {
        return;
    }
    let proxy = Proxy::start(postgres_address().await).await;
    let server =
        TestServer::start_with(|s| s.database_url = through(&s.database_url, proxy.address)).await;
    let w = World::on(server).await;
    let (id, _) = w.raise("bob").await;
    assert_eq!(ready(&w).await.status, 200);

    proxy.cut();
    let started = Instant::now();
    let r = ready(&w).await;
    assert_eq!(r.status, 503, "{}", r.raw);
    let raw = w
        .client
        .get(format!("{}/readyz", w.base))
        .send()
        .await
        .unwrap();
    let retry_after = raw
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        retry_after.as_deref(),
        Some("1"),
        "a 503 says when to retry"
    );
    let list = w
        .call(
            "GET",
            "/v2/servicerequest/authorizations",
            Some(w.token("bob")),
            None,
        )
        .await;
    let reject = w
        .act("bob", &id, "reject", json!({"reject_reason": "no"}))
        .await;
    for r in [&list, &reject] {
        assert_eq!((r.status, r.code()), (503, "OSM.01010014"), "{}", r.raw);
        assert!(!r.msg().is_empty());
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an outage is reported at once, not after timeouts: {:?}",
        started.elapsed()
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready(&w).await.status != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready 10 s after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reject = w
        .act("bob", &id, "reject", json!({"reject_reason": "no"}))
        .await;
    assert_eq!(reject.status, 200, "{}", reject.raw);
    assert_eq!(w.status(&id).await.code(), 2);
    assert!(w.audit_verifies().await);
}

#[test]
fn urls_are_pointed_through_the_proxy() {
    let proxy: SocketAddr = "127.0.0.1:6000".parse().unwrap();
    assert_eq!(
        through("postgres://postgres@127.0.0.1:5432/sa_test_1?x=y", proxy),
        "postgres://postgres@127.0.0.1:6000/sa_test_1?x=y"
    );
    assert_eq!(
        through("postgresql://localhost/db", proxy),
        "postgresql://127.0.0.1:6000/db"
    );
}
