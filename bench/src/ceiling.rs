//! The ceiling: the benchmarked routes with the service's own wire types, answered
//! from memory on axum with no storage and no authentication. Run as its own process
//! (`support-access-bench ceiling`) so it gets the same runtime as the real server.

use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::routing::{get, put};
use serde::Deserialize;
use support_access::domain::{Authorization, AuthorizationId, Language, Scope};
use support_access::http::error::ApiError;
use support_access::http::input::parse_json;
use support_access::http::wire::{
    ActionBody, AuthorizationDetailResponse, Empty, IncidentOrderAuthV2, ListAuthorizationsResponse,
};
use support_access::store::Store;
use support_access::store::sqlite::{SqliteStore, Synchronous};

use crate::rng::Rng;

const SAMPLES: usize = 1000;

struct Samples {
    rows: Vec<Authorization>,
}

/// Real rows, with their details, to answer from.
async fn load_samples(db: &Path) -> Result<Samples, String> {
    let conn = rusqlite::Connection::open(db).map_err(|e| e.to_string())?;
    let mut next_id = conn
        .prepare("SELECT id FROM authorizations WHERE id >= ? ORDER BY id LIMIT 1")
        .map_err(|e| e.to_string())?;
    let store = SqliteStore::open(db, Synchronous::Full).map_err(|e| e.to_string())?;
    let all = Scope::Provider { raised_by: None };
    let mut rng = Rng::new(7);
    let mut rows = Vec::new();
    while rows.len() < SAMPLES {
        let from = (rng.next() >> 1) as i64;
        let Ok(id) = next_id.query_row([from], |r| r.get::<_, i64>(0)) else {
            continue;
        };
        if let Some(a) = store
            .get_authorization(&all, AuthorizationId(id))
            .await
            .map_err(|e| e.to_string())?
        {
            rows.push(a);
        }
    }
    Ok(Samples { rows })
}

pub async fn serve(db: &Path) -> Result<(), String> {
    let samples = Arc::new(load_samples(db).await?);
    let base = "/v2/servicerequest/authorizations";
    let router = Router::new()
        .route(base, get(list))
        .route(&format!("{base}/{{id}}"), get(show))
        .route(&format!("{base}/{{id}}/action"), put(act))
        .with_state(samples);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "ceiling listening on http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    axum::serve(listener, router)
        .await
        .map_err(|e| e.to_string())
}

fn sample(samples: &Samples, key: u64) -> Authorization {
    samples.rows[(key % samples.rows.len() as u64) as usize].clone()
}

async fn show(
    State(samples): State<Arc<Samples>>,
    UrlPath(id): UrlPath<String>,
) -> Json<AuthorizationDetailResponse> {
    let id: i64 = id.parse().unwrap_or(1);
    let mut row = sample(&samples, id as u64);
    row.id = AuthorizationId(id);
    Json(AuthorizationDetailResponse::new(row, Language::En))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<i64>,
    offset: Option<u64>,
    limit: Option<u64>,
}

async fn list(
    State(samples): State<Arc<Samples>>,
    Query(q): Query<ListQuery>,
) -> Json<ListAuthorizationsResponse> {
    let offset = q.offset.unwrap_or(0) + q.status.unwrap_or(0) as u64;
    let rows = (0..q.limit.unwrap_or(10))
        .map(|i| IncidentOrderAuthV2::new(sample(&samples, offset + i), Language::En))
        .collect();
    Json(ListAuthorizationsResponse {
        count: 5000,
        incident_auth_list: rows,
    })
}

async fn act(UrlPath(_id): UrlPath<String>, body: Bytes) -> Result<Json<Empty>, ApiError> {
    let _: ActionBody = parse_json(&body)?;
    Ok(Json(Empty {}))
}
