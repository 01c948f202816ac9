//! The test harness: a real server on an ephemeral port with a fresh database, a
//! client that speaks HTTP to it, and a populated world of identities.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jiff::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use support_access::clock::Clock;
use support_access::config::Settings;
use support_access::domain::{AuthorizationId, Scope, Status};
use support_access::service::App;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Everything every server in this test binary logs, at TRACE level.
pub fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .try_init();
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where every test server's clock starts: fixed, so that the recorded times tests send
/// (which must fall inside their sessions) stay valid whatever day the tests run.
pub fn test_epoch() -> Timestamp {
    "2026-11-28T12:00:00Z".parse().unwrap()
}

pub struct TestServer {
    pub base: String,
    pub app: Arc<App>,
    /// Holds the master key, and the SQLite database when not on PostgreSQL.
    _dir: tempfile::TempDir,
    pub client: reqwest::Client,
    /// What the server was started with; twins start with the same.
    pub settings: Settings,
    shutdown: Option<oneshot::Sender<()>>,
    database: Option<PgDatabase>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub request_id: Option<String>,
    pub retry_after: Option<String>,
    pub raw: String,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or("")
    }
    pub fn msg(&self) -> &str {
        self.body["error_msg"].as_str().unwrap_or("")
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server on a fresh database: PostgreSQL when `SUPPORT_ACCESS_TEST_POSTGRES` is
    /// set, else SQLite in a temporary directory.
    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> TestServer {
        let database = match postgres_url() {
            Some(admin_url) => Some(PgDatabase::create(&admin_url).await),
            None => None,
        };
        Self::start_on(database, tweak).await
    }

    /// A server on `database`, or on a fresh SQLite database if `None`.
    pub async fn start_on(
        database: Option<PgDatabase>,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match &database {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}/test.db", dir.path().display()),
        };
        let mut settings = Settings {
            database_url,
            master_key_file: Some(dir.path().join("master.key")),
            sweep_interval: Duration::from_secs(3600),
            // Tests move the clock by days; tokens should outlive that.
            token_ttl: Duration::from_secs(365 * 86_400),
            // CheckHosts' test hosts listen on loopback, which the default policy refuses.
            target_networks: Some("127.0.0.0/8,10.0.0.0/8".parse().unwrap()),
            ..Settings::defaults()
        };
        tweak(&mut settings);
        Self::serve(settings, dir, database).await
    }

    /// A second instance on this one's database, with its own connections and clock.
    pub async fn start_twin(&self) -> TestServer {
        Self::serve(self.settings.clone(), tempfile::tempdir().unwrap(), None).await
    }

    async fn serve(
        settings: Settings,
        dir: tempfile::TempDir,
        database: Option<PgDatabase>,
    ) -> TestServer {
        captured_logs();
        let app = support_access::server::open_app(&settings, Clock::manual(test_epoch()))
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let serving = app.clone();
        let serve_settings = settings.clone();
        tokio::spawn(async move {
            let stop = async move {
                let _ = stopped.await;
            };
            support_access::server::serve(listener, serving, &serve_settings, stop)
                .await
                .unwrap();
        });
        TestServer {
            base,
            app,
            _dir: dir,
            client: support_access::tls::http_client().build().unwrap(),
            settings,
            shutdown: Some(shutdown),
            database,
        }
    }

    /// Runs `sql` straight on the database, past the service, as another process would.
    pub async fn execute_behind_the_back(&self, sql: &str) {
        let url = &self.settings.database_url;
        if let Some(path) = support_access::store::sqlite::path_from_url(url) {
            rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
            return;
        }
        pg_connect(url).await.batch_execute(sql).await.unwrap();
    }

    /// The one BYTEA/BLOB value `sql` selects with `id` as `$1`, read straight from
    /// the database, past the service.
    pub async fn stored_bytes(&self, sql: &str, id: i64) -> Vec<u8> {
        let url = &self.settings.database_url;
        if let Some(path) = support_access::store::sqlite::path_from_url(url) {
            let conn = rusqlite::Connection::open(path).unwrap();
            return conn.query_row(sql, [id], |r| r.get(0)).unwrap();
        }
        let client = pg_connect(url).await;
        client.query_one(sql, &[&id]).await.unwrap().get(0)
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.client.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.base),
        );
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        self.send(req).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let request_id = res
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let retry_after = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let raw = res.text().await.unwrap();
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            request_id,
            retry_after,
            raw,
        }
    }

    pub async fn login(&self, domain: &str, user: &str, password: &str) -> String {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password, "domain": {"name": domain}}}},
            "scope": {"domain": {"name": domain}}}});
        let res = self
            .client
            .post(format!("{}/v3/auth/tokens", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201, "login {domain}/{user}");
        res.headers()["x-subject-token"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The stored status, read past every visibility rule.
    pub async fn status(&self, id: &str) -> Status {
        let id = AuthorizationId(id.parse().unwrap());
        let all = Scope::Provider { raised_by: None };
        self.app
            .store_for_inspection()
            .get_authorization(&all, id)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    /// Administrative changes, audited as made by `cli:test`.
    pub fn admin(&self) -> support_access::service::admin::Admin<'_> {
        self.app
            .admin(support_access::domain::audit::Actor::cli("test"))
    }

    pub async fn audit_events(&self) -> usize {
        self.app
            .store_for_inspection()
            .audit_chains()
            .await
            .unwrap()
            .iter()
            .map(|c| c.events.len())
            .sum()
    }

    pub async fn audit_verifies(&self) -> bool {
        self.app
            .store_for_inspection()
            .audit_chains()
            .await
            .unwrap()
            .iter()
            .all(|c| c.verify().is_ok())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        // Only then the database: its drop ends the server's connections.
        drop(self.database.take());
    }
}

const POSTGRES_ENV: &str = "SUPPORT_ACCESS_TEST_POSTGRES";

/// The PostgreSQL server the tests run on, if one is configured: the URL of a database
/// the tests connect to in order to create and drop their own.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())
}

/// For tests that only make sense on PostgreSQL: `false`, after saying so on the
/// terminal (past the test harness's capture), when none is configured.
pub fn on_postgres_or_skip(test: &str) -> bool {
    let configured = postgres_url().is_some();
    if !configured {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: needs PostgreSQL; set {POSTGRES_ENV}=postgres://USER@HOST:PORT/DB"
        );
    }
    configured
}

pub async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (config, tls) = support_access::store::postgres::connection(url).unwrap();
    let (client, connection) = config
        .connect(tls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// A database created for one test and dropped when it ends, however it ends.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin_url: &str) -> PgDatabase {
        let mut suffix = [0u8; 8];
        rand::fill(&mut suffix);
        let name = format!("sa_test_{}", hex::encode(suffix));
        pg_connect(admin_url)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        PgDatabase {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop may run inside a single-threaded test runtime: talk to the server from a
        // thread with a runtime of its own. FORCE ends the servers' pooled connections.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let (config, tls) =
                    support_access::store::postgres::connection(&admin_url).unwrap();
                let (client, connection) = config.connect(tls).await?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "warning: could not drop test database {}: {dropped:?}",
                self.name
            );
        }
    }
}

/// `url` (`postgres://user@host:port/db?options`) with the database `name` instead.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let server = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    if query.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{query}")
    }
}

/// Passwords are long and unique so the secrets test can search for them.
/// A client whose requests come from `ip` (any 127.0.0.0/8 address reaches loopback),
/// as a caller on another machine would.
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

pub fn password_of(user: &str) -> String {
    format!("pw-{user}-Zx81qLm")
}

/// Two customer domains, their users and groups, three engineers, all logged in.
///
/// acme: alice (admin), bob, carol, dave; group `ops` (operator) = bob, carol;
/// group `plain` (not operator) = bob, dave. globex: gina (admin), gus.
/// Engineers: eng, eng2, lead (provider admin).
pub struct World {
    pub server: TestServer,
    pub tokens: HashMap<&'static str, String>,
    pub ids: HashMap<&'static str, String>,
}

impl std::ops::Deref for World {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl World {
    pub async fn new() -> World {
        Self::on(TestServer::start().await).await
    }

    /// Subscribes `domain` to every event at `url`, as the system; the subscription's id.
    pub async fn subscribe(&self, domain: &str, url: &str) -> String {
        let (hook, _) = self
            .app
            .create_webhook(
                &support_access::domain::audit::Actor::system(),
                &self.ids[domain],
                url,
                vec!["*".into()],
            )
            .await
            .unwrap();
        hook.id
    }

    pub async fn on(server: TestServer) -> World {
        let app = server.admin();
        let mut ids = HashMap::new();
        for (name, lead) in [("eng", false), ("eng2", false), ("lead", true)] {
            ids.insert(
                name,
                app.create_engineer(name, &password_of(name), lead)
                    .await
                    .unwrap()
                    .id,
            );
        }
        for (domain, users) in [
            (
                "acme",
                vec![
                    ("alice", true),
                    ("bob", false),
                    ("carol", false),
                    ("dave", false),
                ],
            ),
            ("globex", vec![("gina", true), ("gus", false)]),
        ] {
            ids.insert(domain, app.create_domain(domain).await.unwrap().id);
            for (user, admin) in users {
                ids.insert(
                    user,
                    app.create_user(domain, user, &password_of(user), admin)
                        .await
                        .unwrap()
                        .id,
                );
            }
        }
        ids.insert(
            "ops",
            app.create_group("acme", "ops", true).await.unwrap().id,
        );
        ids.insert(
            "plain",
            app.create_group("acme", "plain", false).await.unwrap().id,
        );
        ids.insert(
            "globex-ops",
            app.create_group("globex", "ops", true).await.unwrap().id,
        );
        for (group, user) in [
            ("ops", "bob"),
            ("ops", "carol"),
            ("plain", "bob"),
            ("plain", "dave"),
        ] {
            app.add_group_member("acme", group, user).await.unwrap();
        }
        app.add_group_member("globex", "ops", "gus").await.unwrap();
        let mut tokens = HashMap::new();
        for (domain, user) in [
            ("provider", "eng"),
            ("provider", "eng2"),
            ("provider", "lead"),
            ("acme", "alice"),
            ("acme", "bob"),
            ("acme", "carol"),
            ("acme", "dave"),
            ("globex", "gina"),
            ("globex", "gus"),
        ] {
            tokens.insert(user, server.login(domain, user, &password_of(user)).await);
        }
        World {
            server,
            tokens,
            ids,
        }
    }

    /// This world's identities and tokens, spoken to through `server` (a twin).
    pub fn sharing(&self, server: TestServer) -> World {
        World {
            server,
            tokens: self.tokens.clone(),
            ids: self.ids.clone(),
        }
    }

    pub fn token(&self, user: &str) -> &str {
        &self.tokens[user]
    }

    /// `eng` raises a request for `submitter` with one host and one console detail.
    /// Returns the id and the detail ids (host first).
    pub async fn raise(&self, submitter: &str) -> (String, Vec<i64>) {
        self.raise_as("eng", submitter).await
    }

    pub async fn raise_as(&self, engineer: &str, submitter: &str) -> (String, Vec<i64>) {
        // Never connected to: only CheckHosts connects, and its tests use `raise_on`.
        self.raise_on(engineer, submitter, "10.1.2.3").await
    }

    /// As `raise_as`, with the host detail at `host`.
    pub async fn raise_on(
        &self,
        engineer: &str,
        submitter: &str,
        host: &str,
    ) -> (String, Vec<i64>) {
        let domain = if ["gina", "gus"].contains(&submitter) {
            "globex"
        } else {
            "acme"
        };
        let body = json!({
            "customer_id": self.ids[domain], "x_customer_id": self.ids[submitter],
            "incident_id": "CS-TEST-1", "simple_description": "disk full on db-1",
            "auth_describe": "need to clean logs", "resource_type_id": "1", "visit_type_id": "1",
            "content_type_id": "1", "content_of_auth_letter": "I promise.",
            "details": [
                {"type": 1, "instance_id": "ecs-1", "instance_name": "db-1", "region_id": "cn-south-1", "host": host, "port": 2222},
                {"type": 0, "instance_id": "console", "instance_name": "Console", "region_id": "cn-south-1"}
            ]
        });
        let r = self
            .call(
                "POST",
                "/provider/v1/authorizations",
                Some(self.token(engineer)),
                Some(body),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.raw);
        let details = r.body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect();
        (r.body["id"].as_str().unwrap().to_owned(), details)
    }

    /// A confirm body granting the host detail with `host_password`.
    pub fn grant(details: &[i64], host_password: &str) -> Value {
        json!({"auth_detail_list": [{"auth_detail_id": details[0], "port": 22, "account": "root", "password": host_password}]})
    }

    pub async fn confirm(&self, user: &str, id: &str, details: &[i64]) -> Resp {
        let path = format!("/v2/servicerequest/authorizations/{id}");
        self.call(
            "PUT",
            &path,
            Some(self.token(user)),
            Some(Self::grant(details, "host-pw-Qq93")),
        )
        .await
    }

    pub async fn act(&self, user: &str, id: &str, action: &str, body: Value) -> Resp {
        let path = format!("/v2/servicerequest/authorizations/{id}/action?action_id={action}");
        self.call("PUT", &path, Some(self.token(user)), Some(body))
            .await
    }

    pub async fn recall(&self, engineer: &str, id: &str) -> Resp {
        let path = format!("/provider/v1/authorizations/{id}/recall");
        self.call("POST", &path, Some(self.token(engineer)), Some(json!({})))
            .await
    }
}
