//! The requests each workload sends, drawn from the seeded population.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use support_access::auth::sdk_signature::{self, RawRequest};

use crate::load::{Workload, http_request};
use crate::rng::Rng;
use crate::seed::Population;

const BASE: &str = "/v2/servicerequest/authorizations";
/// The deep page of the list workload, and the rows such a page needs behind it.
pub const DEEP_OFFSET: usize = 1000;
const PAGE: usize = 10;
const PENDING: u8 = 0;

/// What every workload draws from.
pub struct Data {
    pop: Population,
    /// Rows whose (domain, status) has enough rows for a page at `DEEP_OFFSET`.
    deep_rows: Vec<u32>,
    /// Pending rows in random order, but for the largest domain's: each scattered
    /// reject takes the next one.
    pending: Vec<u32>,
    next_pending: AtomicUsize,
    /// The largest domain's pending rows in random order, for the one-domain rejects.
    pending_hot: Vec<u32>,
    next_hot: AtomicUsize,
    /// Every row of the largest domain, for the console's list and its baseline.
    largest: Vec<u32>,
}

impl Data {
    pub fn new(pop: Population, seed: u64) -> Arc<Data> {
        let mut counts = std::collections::HashMap::<(usize, u8), usize>::new();
        for &(_, user, status) in &pop.rows {
            *counts
                .entry((pop.users[user as usize].domain_index, status))
                .or_default() += 1;
        }
        let deep_rows = (0..pop.rows.len() as u32)
            .filter(|&i| {
                let (_, user, status) = pop.rows[i as usize];
                counts[&(pop.users[user as usize].domain_index, status)] >= DEEP_OFFSET + PAGE
            })
            .collect();
        // Domain 0 holds the largest share of the rows (the seed's heavy tail).
        let hot = |i: &u32| pop.users[pop.rows[*i as usize].1 as usize].domain_index == 0;
        let largest = (0..pop.rows.len() as u32).filter(hot).collect();
        let (mut pending_hot, mut pending): (Vec<u32>, Vec<u32>) = (0..pop.rows.len() as u32)
            .filter(|&i| pop.rows[i as usize].2 == PENDING)
            .partition(hot);
        let mut rng = Rng::new(seed);
        for pool in [&mut pending, &mut pending_hot] {
            for i in (1..pool.len()).rev() {
                pool.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        Arc::new(Data {
            pop,
            deep_rows,
            pending,
            next_pending: AtomicUsize::new(0),
            pending_hot,
            next_hot: AtomicUsize::new(0),
            largest,
        })
    }

    /// Authorizations of the largest domain, whose lists the console-list row measures.
    pub fn largest_domain_size(&self) -> usize {
        self.largest.len()
    }

    pub fn pending_left(&self) -> usize {
        self.pending
            .len()
            .saturating_sub(self.next_pending.load(Ordering::Relaxed))
    }

    pub fn hot_pending_left(&self) -> usize {
        self.pending_hot
            .len()
            .saturating_sub(self.next_hot.load(Ordering::Relaxed))
    }

    fn row(&self, rng: &mut Rng) -> (i64, u32, u8) {
        self.pop.rows[rng.below(self.pop.rows.len() as u64) as usize]
    }

    /// A row of the largest domain (its status drawn as its rows are spread).
    fn largest_row(&self, rng: &mut Rng) -> (i64, u32, u8) {
        let i = self.largest[rng.below(self.largest.len() as u64) as usize];
        self.pop.rows[i as usize]
    }

    fn token(&self, user: u32) -> &str {
        &self.pop.users[user as usize].token
    }

    fn admin_of(&self, user: u32) -> u32 {
        self.pop.admins[self.pop.users[user as usize].domain_index]
    }
}

/// The workloads, each also runnable against the ceiling (which ignores credentials).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ShowToken,
    ShowSigned,
    List {
        deep: bool,
    },
    /// The web console's request list page (a status tab with its counts) of the
    /// largest domain, whose baseline is the API's own list of that domain on the same
    /// server.
    ConsoleList,
    /// The API's list at offset 0 in the largest domain: the console list's baseline.
    ListLargestDomain,
    Reject,
    /// Rejects all in the largest domain: one audit chain takes every event.
    RejectOneDomain,
    Mixed,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::ShowToken,
        Kind::ShowSigned,
        Kind::List { deep: false },
        Kind::List { deep: true },
        Kind::ConsoleList,
        // Before reject, which may use up the pending pool of a small seed.
        Kind::Mixed,
        Kind::Reject,
        Kind::RejectOneDomain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::ShowToken => "show (token)",
            Kind::ShowSigned => "show (AK/SK)",
            Kind::List { deep: false } => "list offset 0",
            Kind::List { deep: true } => "list offset 1000",
            Kind::ConsoleList => "console list",
            Kind::ListLargestDomain => "list offset 0, largest domain",
            Kind::Reject => "reject",
            Kind::RejectOneDomain => "reject, one domain",
            Kind::Mixed => "mixed 90/10",
        }
    }

    /// Its name in `--only`.
    pub fn flag(self) -> &'static str {
        match self {
            Kind::ShowToken => "show",
            Kind::ShowSigned => "show-aksk",
            Kind::List { deep: false } => "list",
            Kind::List { deep: true } => "list-deep",
            Kind::ConsoleList => "console-list",
            Kind::ListLargestDomain => "list-largest-domain",
            Kind::Reject => "reject",
            Kind::RejectOneDomain => "reject-one-domain",
            Kind::Mixed => "mixed",
        }
    }

    /// The ceiling workload this one is compared with (AK/SK show shares show's; the
    /// console's list is compared with the API's list on the service itself).
    pub fn ceiling(self) -> Kind {
        match self {
            Kind::ShowSigned => Kind::ShowToken,
            Kind::ConsoleList => Kind::ListLargestDomain,
            Kind::RejectOneDomain => Kind::Reject,
            other => other,
        }
    }
}

/// A workload bound to the data. Against the ceiling, rejects reuse ids instead of
/// consuming the pending pool.
pub struct Bound {
    pub kind: Kind,
    pub data: Arc<Data>,
    pub for_ceiling: bool,
}

impl Workload for Bound {
    fn request(&self, rng: &mut Rng, host: &str) -> Option<Vec<u8>> {
        let d = &self.data;
        match self.kind {
            Kind::ShowToken => Some(show(d, rng, host)),
            Kind::ShowSigned => Some(show_signed(d, rng, host)),
            Kind::List { deep } => Some(list(d, rng, host, deep)),
            Kind::ListLargestDomain => Some(list_of(d, d.largest_row(rng), host, 0)),
            Kind::ConsoleList => Some(console_list(d, rng, host)),
            Kind::Reject => reject(d, rng, host, self.for_ceiling, false),
            Kind::RejectOneDomain => reject(d, rng, host, self.for_ceiling, true),
            Kind::Mixed => match rng.below(100) {
                0..60 => Some(show(d, rng, host)),
                60..90 => Some(list(d, rng, host, false)),
                _ => reject(d, rng, host, self.for_ceiling, false),
            },
        }
    }
}

fn show(d: &Data, rng: &mut Rng, host: &str) -> Vec<u8> {
    let (id, user, _) = d.row(rng);
    let path = format!("{BASE}/{id}");
    http_request("GET", &path, host, &[("X-Auth-Token", d.token(user))], b"")
}

/// Signed as the official SDK signs: `host` and `x-sdk-date`, empty body.
fn show_signed(d: &Data, rng: &mut Rng, host: &str) -> Vec<u8> {
    let (id, user, _) = d.row(rng);
    let u = &d.pop.users[user as usize];
    let path = format!("{BASE}/{id}");
    let date = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let headers: [(&str, &[u8]); 2] = [("host", host.as_bytes()), ("x-sdk-date", date.as_bytes())];
    let raw = RawRequest {
        method: "GET",
        raw_path: &path,
        raw_query: None,
        headers: &headers,
        body: b"",
    };
    let signed = ["host".to_owned(), "x-sdk-date".to_owned()];
    let canonical = sdk_signature::canonical_request(&raw, &signed).expect("a plain path");
    let signature = sdk_signature::sign(
        u.secret_key.as_bytes(),
        &sdk_signature::string_to_sign(&date, &canonical),
    );
    let authorization = format!(
        "{} Access={}, SignedHeaders=host;x-sdk-date, Signature={}",
        sdk_signature::ALGORITHM,
        u.access_key,
        hex::encode(signature)
    );
    http_request(
        "GET",
        &path,
        host,
        &[("X-Sdk-Date", &date), ("Authorization", &authorization)],
        b"",
    )
}

/// A domain admin's list of one status; the row drawn picks the domain and status.
fn list(d: &Data, rng: &mut Rng, host: &str, deep: bool) -> Vec<u8> {
    let row = if deep && !d.deep_rows.is_empty() {
        d.pop.rows[d.deep_rows[rng.below(d.deep_rows.len() as u64) as usize] as usize]
    } else {
        d.row(rng)
    };
    list_of(d, row, host, if deep { DEEP_OFFSET } else { 0 })
}

/// The list of the row's domain and status, as that domain's admin.
fn list_of(d: &Data, (_, user, status): (i64, u32, u8), host: &str, offset: usize) -> Vec<u8> {
    let path = format!("{BASE}?status={status}&offset={offset}&limit={PAGE}");
    let token = d.token(d.admin_of(user));
    http_request("GET", &path, host, &[("X-Auth-Token", token)], b"")
}

/// The same draw as the baseline's (the largest domain), as the domain admin's console
/// page of that status. The admin's console session cookie is their API token (see
/// `seed::console_sessions`).
fn console_list(d: &Data, rng: &mut Rng, host: &str) -> Vec<u8> {
    let (_, user, status) = d.largest_row(rng);
    let path = format!("/console/requests?status={status}");
    let cookie = format!("sa_session={}", d.token(d.admin_of(user)));
    http_request("GET", &path, host, &[("Cookie", &cookie)], b"")
}

/// The submitter rejects a pending request no other request has touched: anywhere,
/// or (`hot`) in the largest domain, whose audit chain every such reject extends.
fn reject(d: &Data, rng: &mut Rng, host: &str, reuse: bool, hot: bool) -> Option<Vec<u8>> {
    let (pool, next) = if hot {
        (&d.pending_hot, &d.next_hot)
    } else {
        (&d.pending, &d.next_pending)
    };
    let index = if reuse {
        rng.below(pool.len().max(1) as u64) as usize
    } else {
        next.fetch_add(1, Ordering::Relaxed)
    };
    let (id, user, _) = d.pop.rows[*pool.get(index)? as usize];
    let path = format!("{BASE}/{id}/action?action_id=reject");
    Some(http_request(
        "PUT",
        &path,
        host,
        &[("X-Auth-Token", d.token(user))],
        br#"{"reject_reason": "Not needed any more"}"#,
    ))
}
