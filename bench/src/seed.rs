//! Seeds a benchmark database by bulk SQL: identities, N authorizations over many
//! domains, their details and the per-domain audit chains, row for row as the service
//! writes them. Access keys go through `App::create_access_key`, like an operator's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use support_access::clock::Clock;
use support_access::config::Settings;
use support_access::crypto::{Cipher, password, token};
use support_access::domain::audit::{Actor, AuditDraft, AuditEvent, GENESIS_HASH};
use support_access::domain::{Action, AuthorizationId, DetailId, Status};
use support_access::service::App;

use crate::rng::Rng;

/// Bump when the seeded shape changes, so an old template is not reused.
const SEED_VERSION: u32 = 1;
/// Pending rows and tokens stay valid for 48 h after seeding; templates are reused for 24 h.
const TEMPLATE_MAX_AGE: SignedDuration = SignedDuration::from_hours(24);
const ENGINEERS: usize = 20;

/// The share of each status, in per mille: pending first, so the reject pool is large.
const STATUS_MIX: [(Status, u64); 6] = [
    (Status::Pending, 300),
    (Status::Authorized, 50),
    (Status::Rejected, 150),
    (Status::Expired, 350),
    (Status::Recalled, 50),
    (Status::Canceled, 100),
];

const DESCRIPTIONS: [&str; 6] = [
    "Nightly backup fails on the database host",
    "Disk full on the application server",
    "High CPU after the last deployment",
    "Cannot reach the console after a password reset",
    "Certificate renewal failed on the load balancer",
    "Replication lag keeps growing on the read replica",
];

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Shape {
    pub authorizations: u64,
    pub domains: usize,
    pub users_per_domain: usize,
}

/// What the load phase needs to know about one user; kept beside the database.
#[derive(Serialize, Deserialize, Clone)]
pub struct Credentials {
    pub user_id: String,
    pub domain_index: usize,
    pub is_admin: bool,
    pub token: String,
    pub access_key: String,
    pub secret_key: String,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    version: u32,
    shape: Shape,
    seeded_at_ms: i64,
    users: Vec<Credentials>,
}

/// A seeded database: its directory holds `bench.db`, `master.key` and `manifest.json`.
pub struct Template {
    pub dir: PathBuf,
    pub users: Vec<Credentials>,
}

pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("bench.db")
}

pub fn database_url(dir: &Path) -> String {
    format!("sqlite://{}", db_path(dir).display())
}

/// The template for `shape` under `root`, seeding it unless a fresh one exists.
pub async fn template(root: &Path, shape: Shape) -> Result<Template, String> {
    let dir = root.join(format!(
        "template-{}x{}x{}",
        shape.authorizations, shape.domains, shape.users_per_domain
    ));
    if let Some(users) = reusable(&dir, shape) {
        eprintln!("seed: reusing {}", dir.display());
        return Ok(Template { dir, users });
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let users = seed(&dir, shape).await?;
    eprintln!(
        "seed: {} authorizations in {:.1} s",
        shape.authorizations,
        started.elapsed().as_secs_f64()
    );
    Ok(Template { dir, users })
}

fn reusable(dir: &Path, shape: Shape) -> Option<Vec<Credentials>> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let manifest: Manifest = serde_json::from_str(&text).ok()?;
    let seeded_at = Timestamp::from_millisecond(manifest.seeded_at_ms).ok()?;
    let fresh = Timestamp::now().duration_since(seeded_at) < TEMPLATE_MAX_AGE;
    (manifest.version == SEED_VERSION && manifest.shape == shape && fresh).then_some(manifest.users)
}

/// Copies the template's files into `run_dir` for one run to change.
pub fn copy_template(template: &Template, run_dir: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(run_dir);
    std::fs::create_dir_all(run_dir).map_err(|e| e.to_string())?;
    for name in ["bench.db", "master.key"] {
        std::fs::copy(template.dir.join(name), run_dir.join(name))
            .map_err(|e| format!("copy {name}: {e}"))?;
    }
    Ok(())
}

pub fn settings(dir: &Path) -> Settings {
    Settings {
        database_url: database_url(dir),
        ..Settings::defaults()
    }
}

async fn seed(dir: &Path, shape: Shape) -> Result<Vec<Credentials>, String> {
    let app = support_access::server::open_app(&settings(dir), Clock::System)
        .await
        .map_err(|e| e.to_string())?;
    let now = Timestamp::now();
    let seeder = Seeder {
        conn: bulk_connection(&db_path(dir))?,
        rng: Rng::new(0x5eed_0000 + shape.authorizations),
        now,
        secrets: app.sealer().clone(),
    };
    let (mut users, identities) = seeder.run(shape).map_err(|e| e.to_string())?;
    create_access_keys(&app, &identities, &mut users).await?;
    drop(app);
    let conn = Connection::open(db_path(dir)).map_err(|e| e.to_string())?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .map_err(|e| e.to_string())?;
    let manifest = Manifest {
        version: SEED_VERSION,
        shape,
        seeded_at_ms: now.as_millisecond(),
        users: users.clone(),
    };
    let text = serde_json::to_string(&manifest).map_err(|e| e.to_string())?;
    write_private(&dir.join("manifest.json"), &text)?;
    Ok(users)
}

/// The manifest holds bench credentials: owner-only, like the master key.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| e.to_string())?;
    file.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

/// Durability is pointless while seeding: a failed seed is simply redone.
fn bulk_connection(path: &Path) -> Result<Connection, String> {
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    conn.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000; PRAGMA foreign_keys = OFF;",
    )
    .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// `(domain name, user name)` per user, for the access-key commands.
type Identities = Vec<(String, String)>;

async fn create_access_keys(
    app: &Arc<App>,
    identities: &Identities,
    users: &mut [Credentials],
) -> Result<(), String> {
    // Many at once, so the writer's group commit batches them.
    const IN_FLIGHT: usize = 64;
    for (chunk_no, chunk) in identities.chunks(IN_FLIGHT).enumerate() {
        let tasks: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|(domain, user)| {
                let app = app.clone();
                tokio::spawn(async move {
                    app.admin(Actor::system())
                        .create_access_key(&domain, &user)
                        .await
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let key = task
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("access key: {e}"))?;
            let user = &mut users[chunk_no * IN_FLIGHT + i];
            user.access_key = key.access_key;
            user.secret_key = key.secret_key.expose().to_owned();
        }
    }
    Ok(())
}

struct Person {
    id: String,
    name: String,
}

struct Domain {
    id: String,
    users: Vec<Person>,
}

struct Seeder {
    conn: Connection,
    rng: Rng,
    now: Timestamp,
    secrets: Cipher,
}

/// One authorization's columns, as the store writes them.
struct Row {
    id: i64,
    submitter: usize,
    engineer: usize,
    status: Status,
    incident_id: String,
    description: &'static str,
    host_detail: bool,
    created_at: Timestamp,
    pending_deadline: Timestamp,
    window: Option<(Timestamp, Timestamp)>,
    reject_reason: Option<&'static str>,
    handler: Option<usize>,
    updated_at: Timestamp,
    details: Vec<DetailRow>,
}

struct DetailRow {
    id: i64,
    host: bool,
    password_ciphertext: Option<Vec<u8>>,
}

const REJECT_REASON: &str = "Not needed any more";

impl Seeder {
    fn run(mut self, shape: Shape) -> rusqlite::Result<(Vec<Credentials>, Identities)> {
        let indexes = self.drop_bulk_indexes()?;
        self.conn.execute_batch("BEGIN")?;
        let engineers = self.insert_engineers()?;
        let (domains, users, identities) = self.insert_customers(shape)?;
        self.conn.execute_batch("COMMIT")?;
        let sizes = domain_sizes(shape.authorizations, shape.domains);
        for (index, (domain, size)) in domains.iter().zip(sizes).enumerate() {
            self.conn.execute_batch("BEGIN")?;
            self.insert_domain_authorizations(domain, size, &engineers)?;
            self.conn.execute_batch("COMMIT")?;
            if index % 100 == 0 {
                eprintln!("seed: domain {index}/{}", domains.len());
            }
        }
        eprintln!("seed: building indexes");
        for sql in indexes {
            self.conn.execute_batch(&sql)?;
        }
        Ok((users, identities))
    }

    /// Bulk loads go much faster into unindexed tables; the same indexes come back after.
    fn drop_bulk_indexes(&self) -> rusqlite::Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ('authorizations', 'authorization_details', 'audit_events')",
        )?;
        let indexes: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (name, _) in &indexes {
            self.conn.execute_batch(&format!("DROP INDEX {name}"))?;
        }
        Ok(indexes.into_iter().map(|(_, sql)| sql).collect())
    }

    fn hex_id(&mut self) -> String {
        format!("{:016x}{:016x}", self.rng.next(), self.rng.next())
    }

    fn insert_domain_row(&mut self, name: &str, is_provider: bool) -> rusqlite::Result<String> {
        let id = self.hex_id();
        self.conn.execute(
            "INSERT INTO domains (id, name, is_provider, created_at) VALUES (?,?,?,?)",
            params![id, name, is_provider, self.now.as_millisecond()],
        )?;
        Ok(id)
    }

    fn insert_user_row(
        &mut self,
        domain_id: &str,
        name: &str,
        phc: &str,
        flags: (bool, bool),
    ) -> rusqlite::Result<String> {
        let id = self.hex_id();
        self.conn
            .prepare_cached(
                "INSERT INTO users (id, domain_id, name, password_hash, is_admin, is_engineer, \
                 is_provider_admin, enabled, created_at) VALUES (?,?,?,?,?,?,0,1,?)",
            )?
            .execute(params![
                id,
                domain_id,
                name,
                phc,
                flags.0,
                flags.1,
                self.now.as_millisecond()
            ])?;
        Ok(id)
    }

    fn insert_engineers(&mut self) -> rusqlite::Result<Vec<Person>> {
        let domain_id = self.insert_domain_row("provider", true)?;
        let phc = password::hash(&self.hex_id());
        (0..ENGINEERS)
            .map(|i| {
                let name = format!("engineer-{i:02}");
                let id = self.insert_user_row(&domain_id, &name, &phc, (false, true))?;
                Ok(Person { id, name })
            })
            .collect()
    }

    /// Domains with an admin (user 0) and ordinary users, each holding a live token.
    fn insert_customers(
        &mut self,
        shape: Shape,
    ) -> rusqlite::Result<(Vec<Domain>, Vec<Credentials>, Identities)> {
        // Nobody logs in with a password during the benchmark: one hash serves all.
        let phc = password::hash(&self.hex_id());
        let expires = self.now + SignedDuration::from_hours(48);
        let (mut domains, mut users, mut identities) = (Vec::new(), Vec::new(), Vec::new());
        for d in 0..shape.domains {
            let domain_name = format!("bench-{d:05}");
            let domain_id = self.insert_domain_row(&domain_name, false)?;
            let mut people = Vec::new();
            for u in 0..shape.users_per_domain.max(2) {
                let name = if u == 0 {
                    "admin".to_owned()
                } else {
                    format!("user-{u:03}")
                };
                let id = self.insert_user_row(&domain_id, &name, &phc, (u == 0, false))?;
                let (plain, hash) = token::generate();
                self.conn
                    .prepare_cached(
                        "INSERT INTO tokens (hash, user_id, issued_at, expires_at) VALUES (?,?,?,?)",
                    )?
                    .execute(params![
                        &hash[..],
                        id,
                        self.now.as_millisecond(),
                        expires.as_millisecond()
                    ])?;
                users.push(Credentials {
                    user_id: id.clone(),
                    domain_index: d,
                    is_admin: u == 0,
                    token: plain.expose().to_owned(),
                    access_key: String::new(),
                    secret_key: String::new(),
                });
                identities.push((domain_name.clone(), name.clone()));
                people.push(Person { id, name });
            }
            domains.push(Domain {
                id: domain_id,
                users: people,
            });
        }
        Ok((domains, users, identities))
    }

    fn pick_status(&mut self) -> Status {
        let mut roll = self.rng.below(1000);
        for (status, share) in STATUS_MIX {
            if roll < share {
                return status;
            }
            roll -= share;
        }
        Status::Expired
    }

    fn ago(&mut self, from: SignedDuration, to: SignedDuration) -> Timestamp {
        let span = (to - from).as_millis() as u64;
        self.now - from - SignedDuration::from_millis(self.rng.below(span.max(1)) as i64)
    }

    fn later(&mut self, t: Timestamp, from: SignedDuration, to: SignedDuration) -> Timestamp {
        let span = (to - from).as_millis() as u64;
        t + from + SignedDuration::from_millis(self.rng.below(span.max(1)) as i64)
    }

    fn row(&mut self, users: usize) -> Row {
        let h = SignedDuration::from_hours;
        let status = self.pick_status();
        let created_at = match status {
            // Pending rows must outlive the template (their TTL is 72 h).
            Status::Pending => self.ago(h(0), h(24)),
            Status::Authorized => self.ago(h(1), h(5 * 24)),
            _ => self.ago(h(7 * 24), h(365 * 24)),
        };
        let acted_at = self.later(created_at, SignedDuration::from_mins(1), h(1));
        let host_detail = self.rng.below(10) < 7;
        let id = AuthorizationId::from_random(self.rng.next()).0;
        let details = (0..if host_detail { 1 } else { 2 })
            .map(|position| DetailRow {
                id: DetailId::from_random(self.rng.next()).0,
                host: position == 0,
                password_ciphertext: None,
            })
            .collect();
        let granted = matches!(status, Status::Authorized | Status::Canceled);
        let window = granted.then(|| (acted_at, self.later(acted_at, h(7 * 24), h(30 * 24))));
        let submitter = 1 + self.rng.below(users as u64 - 1) as usize;
        let pending_deadline = created_at + h(72);
        let updated_at = match status {
            Status::Pending => created_at,
            Status::Expired => pending_deadline,
            Status::Canceled => self.later(acted_at, h(1), h(3 * 24)),
            _ => acted_at,
        };
        Row {
            id,
            submitter,
            engineer: self.rng.below(ENGINEERS as u64) as usize,
            status,
            incident_id: format!(
                "CS{}{:06}",
                created_at.strftime("%Y%m%d"),
                self.rng.below(1_000_000)
            ),
            description: DESCRIPTIONS[self.rng.below(DESCRIPTIONS.len() as u64) as usize],
            host_detail,
            created_at,
            pending_deadline,
            window,
            reject_reason: (status == Status::Rejected).then_some(REJECT_REASON),
            handler: matches!(
                status,
                Status::Authorized | Status::Rejected | Status::Canceled
            )
            .then_some(submitter),
            updated_at,
            details,
        }
    }

    fn insert_domain_authorizations(
        &mut self,
        domain: &Domain,
        count: u64,
        engineers: &[Person],
    ) -> rusqlite::Result<()> {
        let mut events: Vec<(Timestamp, AuditDraft)> = Vec::new();
        for _ in 0..count {
            let mut row = self.row(domain.users.len());
            if row.status == Status::Authorized {
                for d in row.details.iter_mut().filter(|d| d.host) {
                    let password = self.hex_id();
                    let context = format!("detail:{}", d.id);
                    d.password_ciphertext = Some(self.secrets.seal(password.as_bytes(), &context));
                }
            }
            self.insert_authorization(domain, &row, engineers)?;
            events.extend(audit_drafts(domain, &row, engineers));
        }
        events.sort_by_key(|(at, _)| *at);
        self.insert_chain(&domain.id, events)
    }

    fn insert_authorization(
        &self,
        domain: &Domain,
        r: &Row,
        engineers: &[Person],
    ) -> rusqlite::Result<()> {
        let submitter = &domain.users[r.submitter];
        let engineer = &engineers[r.engineer];
        let (resource, visit) = if r.host_detail {
            ("1", "1")
        } else {
            ("2", "4")
        };
        let ms = |t: Option<Timestamp>| t.map(|t| t.as_millisecond());
        self.conn
            .prepare_cached(
                "INSERT INTO authorizations (id, customer_id, x_customer_id, xcustomer_name, \
                 incident_id, simple_description, auth_describe, resource_type_id, visit_type_id, \
                 content_type_id, content_of_auth_letter, status, site, created_at, pending_deadline, \
                 requested_effective_at, requested_expire_at, effective_at, expire_at, reject_reason, \
                 handler_name, agency_id, raised_by, raised_by_name, updated_at) \
                 VALUES (?,?,?,?,?,?,?,?,?,'1',?,?,0,?,?,NULL,NULL,?,?,?,?,NULL,?,?,?)",
            )?
            .execute(params![
                r.id,
                domain.id,
                submitter.id,
                submitter.name,
                r.incident_id,
                r.description,
                format!("To investigate: {}", r.description),
                resource,
                visit,
                "I will only use this access for the ticket above.",
                r.status.code(),
                r.created_at.as_millisecond(),
                r.pending_deadline.as_millisecond(),
                ms(r.window.map(|w| w.0)),
                ms(r.window.map(|w| w.1)),
                r.reject_reason,
                r.handler.map(|u| domain.users[u].name.as_str()),
                engineer.id,
                engineer.name,
                r.updated_at.as_millisecond(),
            ])?;
        let granted = r.window.is_some();
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO authorization_details (id, authorization_id, position, type, instance_id, \
             instance_name, region_id, host, requested_port, granted_port, account, \
             password_ciphertext) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        )?;
        for (position, d) in r.details.iter().enumerate() {
            let (kind, instance, name, host, port) = if d.host {
                let ip = format!(
                    "10.{}.{}.{}",
                    (d.id >> 16) & 255,
                    (d.id >> 8) & 255,
                    d.id & 255
                );
                (
                    1,
                    format!("ecs-{:08x}", d.id & 0xffff_ffff),
                    "db-1",
                    Some(ip),
                    Some(22),
                )
            } else {
                (0, "console".to_owned(), "Cloud console", None, None)
            };
            let grant = granted && d.host;
            insert.execute(params![
                d.id,
                r.id,
                position as i64,
                kind,
                instance,
                name,
                "cn-south-1",
                host,
                port,
                grant.then_some(22),
                grant.then_some("root"),
                d.password_ciphertext,
            ])?;
        }
        Ok(())
    }

    /// Seals the domain's events in time order and stores them with the chain head.
    fn insert_chain(
        &self,
        domain_id: &str,
        events: Vec<(Timestamp, AuditDraft)>,
    ) -> rusqlite::Result<()> {
        let mut prev = GENESIS_HASH;
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO audit_events (domain_id, seq, at, authorization_id, actor_id, actor_name, \
             kind, from_status, to_status, reason, note, prev_hash, hash) \
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        )?;
        let mut head = None;
        for (seq, (at, draft)) in events.into_iter().enumerate() {
            let e: AuditEvent = draft.seal(seq as i64 + 1, at, prev);
            let d = &e.draft;
            insert.execute(params![
                d.domain_id,
                e.seq,
                e.at.as_millisecond(),
                d.authorization_id.map(|a| a.0),
                d.actor_id,
                d.actor_name,
                d.kind,
                d.from_status.map(Status::code),
                d.to_status.map(Status::code),
                d.reason,
                d.note,
                &e.prev_hash[..],
                &e.hash[..],
            ])?;
            prev = e.hash;
            head = Some(e.seq);
        }
        if let Some(seq) = head {
            self.conn.execute(
                "INSERT INTO audit_heads (domain_id, seq, hash) VALUES (?, ?, ?)",
                params![domain_id, seq, &prev[..]],
            )?;
        }
        Ok(())
    }
}

/// The events the service would have appended for this row's history.
fn audit_drafts(domain: &Domain, r: &Row, engineers: &[Person]) -> Vec<(Timestamp, AuditDraft)> {
    let id = Some(AuthorizationId(r.id));
    let engineer = &engineers[r.engineer];
    let submitter = &domain.users[r.submitter];
    let by_engineer = &Actor::new(engineer.id.as_str(), engineer.name.as_str());
    let by_submitter = &Actor::new(submitter.id.as_str(), submitter.name.as_str());
    let event = |actor: &Actor, action: Action, from, to| {
        AuditDraft::new(&domain.id, id, actor, action.name()).transition(from, to)
    };
    let raise = AuditDraft::new(&domain.id, id, by_engineer, "raise").note(format!(
        "incident={} details={}",
        r.incident_id,
        r.details.len()
    ));
    let acted = r.window.map_or(r.updated_at, |w| w.0);
    let mut drafts = vec![(r.created_at, raise)];
    use Status::*;
    match r.status {
        Pending => {}
        Authorized => drafts.push((
            acted,
            event(by_submitter, Action::Confirm, Pending, Authorized),
        )),
        Rejected => drafts.push((
            acted,
            event(by_submitter, Action::Reject, Pending, Rejected)
                .reason(Some(REJECT_REASON.into())),
        )),
        Expired => drafts.push((
            r.updated_at,
            event(&Actor::system(), Action::Expire, Pending, Expired),
        )),
        Recalled => drafts.push((acted, event(by_engineer, Action::Recall, Pending, Recalled))),
        Canceled => {
            let purged = r.details.iter().filter(|d| d.host).count();
            drafts.push((
                acted,
                event(by_submitter, Action::Confirm, Pending, Authorized),
            ));
            drafts.push((
                r.updated_at,
                event(by_submitter, Action::Cancel, Authorized, Canceled)
                    .note(format!("credentials_purged={purged} sessions_closed=0")),
            ));
        }
    }
    drafts
}

/// A console session for every domain admin on the run copy, its cookie the admin's API
/// token (hashed alike; the tables are apart), for the console-list workload.
pub fn console_sessions(run_dir: &Path, users: &[Credentials]) -> Result<(), String> {
    let conn = Connection::open(db_path(run_dir)).map_err(|e| e.to_string())?;
    let now = Timestamp::now();
    let expires = now + SignedDuration::from_hours(12);
    let mut insert = conn
        .prepare(
            "INSERT OR REPLACE INTO console_sessions (hash, user_id, created_at, last_seen_at, expires_at) \
             VALUES (?,?,?,?,?)",
        )
        .map_err(|e| e.to_string())?;
    for u in users.iter().filter(|u| u.is_admin) {
        insert
            .execute(params![
                &token::hash(&u.token)[..],
                u.user_id,
                now.as_millisecond(),
                now.as_millisecond(),
                expires.as_millisecond()
            ])
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Tenants are heavy-tailed: domain `i` holds a share proportional to `1 / (i + 1)`.
pub fn domain_sizes(total: u64, domains: usize) -> Vec<u64> {
    let harmonic: f64 = (1..=domains).map(|i| 1.0 / i as f64).sum();
    let mut sizes: Vec<u64> = (1..=domains)
        .map(|i| ((total as f64) / (i as f64 * harmonic)).floor() as u64)
        .collect();
    let assigned: u64 = sizes.iter().sum();
    for i in 0..(total - assigned) as usize {
        sizes[i % domains] += 1;
    }
    sizes
}

/// Every authorization's id, submitter and status, read back for the load phase.
pub struct Population {
    pub users: Vec<Credentials>,
    /// `(authorization id, submitter's index in users, status code)`
    pub rows: Vec<(i64, u32, u8)>,
    /// The admin's index in `users`, per domain.
    pub admins: Vec<u32>,
}

pub fn population(run_dir: &Path, users: Vec<Credentials>) -> Result<Population, String> {
    let conn = Connection::open(db_path(run_dir)).map_err(|e| e.to_string())?;
    let by_id: HashMap<&str, u32> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.user_id.as_str(), i as u32))
        .collect();
    let mut stmt = conn
        .prepare("SELECT id, x_customer_id, status FROM authorizations")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| {
            let submitter: String = r.get(1)?;
            Ok((r.get(0)?, by_id[submitter.as_str()], r.get::<_, u8>(2)?))
        })
        .map_err(|e| e.to_string())?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    let domains = users.iter().map(|u| u.domain_index).max().unwrap_or(0) + 1;
    let mut admins = vec![0; domains];
    for (i, u) in users.iter().enumerate().filter(|(_, u)| u.is_admin) {
        admins[u.domain_index] = i as u32;
    }
    Ok(Population {
        users,
        rows,
        admins,
    })
}
