//! Wire types: serde structs with the exact field names and JSON types of the API.
//! Absent optional strings are omitted, never `null`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::authorization::{DetailInput, RaiseInput};
use crate::domain::catalog::{self, CONTENT_TYPES, RESOURCE_TYPES, VISIT_TYPES};
use crate::domain::confirm::{ConfirmInput, GrantInput};
use crate::domain::host_check::{HostCheckInput, HostCheckOutcome};
use crate::domain::secret::Secret;
use crate::domain::session::{
    FileTransfer, FileTransferInput, Operation, OperationInput, Session, human_size,
};
use crate::domain::time::{format_duration_ms, format_utc, format_wall};
use crate::domain::{Authorization, Detail, Language};
use jiff::tz::TimeZone;

fn utc(t: Option<Timestamp>) -> Option<String> {
    t.map(format_utc)
}

// ---- Customer API responses -------------------------------------------------------

/// IncidentOrderAuthV2: one row of ListAuthorizations.
#[derive(Serialize, ToSchema)]
pub struct IncidentOrderAuthV2 {
    id: String,
    status: i32,
    incident_id: String,
    simple_description: String,
    auth_describe: String,
    resource_type_id: String,
    resource_type_name: String,
    visit_type_id: String,
    visit_type_name: String,
    create_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_effective_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_expire_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reject_reason: Option<String>,
    customer_id: String,
    x_customer_id: String,
    xcustomer_name: String,
    content_of_auth_letter: String,
}

impl IncidentOrderAuthV2 {
    pub fn new(a: Authorization, lang: Language) -> Self {
        let (effective, expire) = a.shown_window();
        IncidentOrderAuthV2 {
            id: a.id.to_string(),
            status: a.status.code(),
            resource_type_name: catalog::name(RESOURCE_TYPES, &a.resource_type_id, lang).into(),
            visit_type_name: catalog::name(VISIT_TYPES, &a.visit_type_id, lang).into(),
            create_time: format_utc(a.created_at),
            auth_effective_time: utc(effective),
            auth_expire_time: utc(expire),
            incident_id: a.incident_id,
            simple_description: a.simple_description,
            auth_describe: a.auth_describe,
            resource_type_id: a.resource_type_id,
            visit_type_id: a.visit_type_id,
            reject_reason: a.reject_reason,
            customer_id: a.customer_id,
            x_customer_id: a.x_customer_id,
            xcustomer_name: a.xcustomer_name,
            content_of_auth_letter: a.content_of_auth_letter,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListAuthorizationsResponse {
    pub count: u64,
    pub incident_auth_list: Vec<IncidentOrderAuthV2>,
}

/// IncidentOrderAuthDetailInfoV2.
#[derive(Serialize, ToSchema)]
pub struct IncidentOrderAuthDetailInfoV2 {
    id: i64,
    /// Not in Huawei's model (the SDKs ignore members they do not know): where the
    /// engineer will connect, so the customer approves the machine they mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    #[serde(rename = "type")]
    detail_type: i32,
    instance_id: String,
    instance_name: String,
    region_id: String,
}

impl From<Detail> for IncidentOrderAuthDetailInfoV2 {
    fn from(d: Detail) -> Self {
        IncidentOrderAuthDetailInfoV2 {
            id: d.id.0,
            port: d.port(),
            host: d.host,
            account: d.account,
            detail_type: d.detail_type.code(),
            instance_id: d.instance_id,
            instance_name: d.instance_name,
            region_id: d.region_id,
        }
    }
}

/// ShowAuthorizationDetailResponse.
#[derive(Serialize, ToSchema)]
pub struct AuthorizationDetailResponse {
    id: String,
    status: i32,
    incident_id: String,
    simple_description: String,
    resource_type_id: String,
    resource_type_name: String,
    visit_type_id: String,
    visit_type_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_effective_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_expire_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reject_reason: Option<String>,
    incident_auth_detail_list: Vec<IncidentOrderAuthDetailInfoV2>,
    xcustomer_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_handler_name: Option<String>,
    auth_describe: String,
    content_type_id: String,
    content_type_name: String,
}

impl AuthorizationDetailResponse {
    pub fn new(a: Authorization, lang: Language) -> Self {
        let (effective, expire) = a.shown_window();
        AuthorizationDetailResponse {
            id: a.id.to_string(),
            status: a.status.code(),
            resource_type_name: catalog::name(RESOURCE_TYPES, &a.resource_type_id, lang).into(),
            visit_type_name: catalog::name(VISIT_TYPES, &a.visit_type_id, lang).into(),
            content_type_name: catalog::name(CONTENT_TYPES, &a.content_type_id, lang).into(),
            auth_effective_time: utc(effective),
            auth_expire_time: utc(expire),
            incident_id: a.incident_id,
            simple_description: a.simple_description,
            resource_type_id: a.resource_type_id,
            visit_type_id: a.visit_type_id,
            reject_reason: a.reject_reason,
            incident_auth_detail_list: a.details.into_iter().map(Into::into).collect(),
            xcustomer_name: a.xcustomer_name,
            auth_handler_name: a.handler_name,
            auth_describe: a.auth_describe,
            content_type_id: a.content_type_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OperateHistorySession {
    duration: String,
    session_id: i64,
    start_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<String>,
    /// Ours: `broker` (recorded first-hand) or `reported` (posted by the engineer's tools).
    source: &'static str,
    /// Ours: why the session ended, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    close_reason: Option<String>,
}

impl OperateHistorySession {
    pub fn new(s: Session, tz: &TimeZone, now: Timestamp) -> Self {
        OperateHistorySession {
            duration: format_duration_ms(s.duration_ms(now)),
            session_id: s.id.0,
            start_time: format_wall(s.started_at, tz),
            end_time: s.ended_at.map(|t| format_wall(t, tz)),
            source: s.source.as_str(),
            close_reason: s.close_reason,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListHistorySessionsResponse {
    pub total_count: u64,
    pub session_list: Vec<OperateHistorySession>,
}

#[derive(Serialize, ToSchema)]
pub struct OperateLog {
    oper: String,
    operate_time: String,
}

impl OperateLog {
    pub fn new(op: Operation, tz: &TimeZone) -> Self {
        OperateLog {
            operate_time: format_wall(op.operate_time, tz),
            oper: op.oper,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListHistoryOperateLogsResponse {
    pub total_count: u64,
    pub ops_list: Vec<OperateLog>,
}

#[derive(Serialize, ToSchema)]
pub struct FileOperateLog {
    duration: String,
    operate_time: String,
    operate_type: String,
    file_name: String,
    from_path: String,
    to_path: String,
    file_size: String,
    oper_result: String,
    /// Ours: the exact size, which `file_size` rounds.
    file_size_bytes: i64,
    /// Ours: SHA-256 (hex) of the bytes that crossed the SSH broker, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

impl FileOperateLog {
    pub fn new(t: FileTransfer, tz: &TimeZone) -> Self {
        FileOperateLog {
            duration: format_duration_ms(t.duration_ms),
            operate_time: format_wall(t.operate_time, tz),
            file_size: human_size(t.file_size_bytes),
            file_size_bytes: t.file_size_bytes,
            sha256: t.sha256,
            operate_type: t.operate_type,
            file_name: t.file_name,
            from_path: t.from_path,
            to_path: t.to_path,
            oper_result: t.oper_result,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListTransportHistoriesResponse {
    pub total_count: u64,
    pub file_ops_list: Vec<FileOperateLog>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginTypeResponse {
    pub login_type: &'static str,
}

/// The `{}` of a successful state change.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

// ---- Customer API requests --------------------------------------------------------

/// AgreeTenantAuthorizationV2Req.
#[derive(Deserialize, ToSchema)]
pub struct ConfirmBody {
    auth_detail_list: Option<Vec<TenantAgreeAuthDetailV2>>,
    auth_effective_time: Option<i64>,
    auth_expire_time: Option<i64>,
    pub group_id: Option<String>,
    agency_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct TenantAgreeAuthDetailV2 {
    auth_detail_id: Option<i64>,
    port: Option<i64>,
    account: Option<String>,
    password: Option<String>,
}

impl ConfirmBody {
    pub fn into_input(self) -> ConfirmInput {
        ConfirmInput {
            auth_detail_list: self
                .auth_detail_list
                .unwrap_or_default()
                .into_iter()
                .map(|d| GrantInput {
                    auth_detail_id: d.auth_detail_id,
                    port: d.port,
                    account: d.account,
                    password: d.password.map(Secret::new),
                })
                .collect(),
            auth_effective_time: self.auth_effective_time,
            auth_expire_time: self.auth_expire_time,
            agency_id: self.agency_id,
        }
    }
}

/// VerifyHostV2Req.
#[derive(Deserialize, ToSchema)]
pub struct VerifyHostBody {
    port: Option<i64>,
    account: Option<String>,
    password: Option<String>,
    pub group_id: Option<String>,
}

impl VerifyHostBody {
    pub fn into_input(self) -> HostCheckInput {
        HostCheckInput {
            port: self.port,
            account: self.account,
            password: self.password.map(Secret::new),
        }
    }
}

/// CheckHostsResponse: `{}` when the login succeeded, else why not.
#[derive(Serialize, ToSchema)]
pub struct CheckHostsResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_msg: Option<&'static str>,
}

impl CheckHostsResponse {
    pub fn new(outcome: HostCheckOutcome, lang: Language) -> Self {
        CheckHostsResponse {
            error_code: outcome.error_code(),
            error_msg: outcome.message(lang),
        }
    }
}

/// OperateAuthorizationV2Req.
#[derive(Deserialize, ToSchema)]
pub struct ActionBody {
    pub reject_reason: Option<String>,
    pub group_id: Option<String>,
}

// ---- Provider API -----------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
pub struct RaiseBody {
    /// The customer's domain id.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64)]
    customer_id: Option<String>,
    /// The user id of the ticket's submitter in that domain.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64)]
    x_customer_id: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64, example = "CS-20261128-0001")]
    incident_id: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2000)]
    simple_description: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2000)]
    auth_describe: Option<String>,
    /// A catalogue id, `1` to `4` (docs/API.md).
    #[schema(value_type = String, required = true, pattern = "^[1-4]$")]
    resource_type_id: Option<String>,
    /// A catalogue id, `1` to `4`.
    #[schema(value_type = String, required = true, pattern = "^[1-4]$")]
    visit_type_id: Option<String>,
    /// A catalogue id, `1` to `4`.
    #[schema(value_type = String, required = true, pattern = "^[1-4]$")]
    content_type_id: Option<String>,
    #[schema(max_length = 20000)]
    content_of_auth_letter: Option<String>,
    /// RFC 3339.
    #[schema(example = "2026-11-28T13:00:00Z")]
    requested_effective_time: Option<String>,
    /// RFC 3339, after `requested_effective_time`.
    #[schema(example = "2026-11-28T15:00:00Z")]
    requested_expire_time: Option<String>,
    #[schema(value_type = Vec<RaiseDetail>, required = true, min_items = 1, max_items = 6)]
    details: Option<Vec<RaiseDetail>>,
}

#[derive(Deserialize, ToSchema)]
struct RaiseDetail {
    /// 1: a host reached over SSH (`host` required), 0: a console.
    #[serde(rename = "type")]
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 1)]
    detail_type: Option<i64>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64)]
    instance_id: Option<String>,
    #[schema(max_length = 128)]
    instance_name: Option<String>,
    #[schema(max_length = 64)]
    region_id: Option<String>,
    /// An IP address or host name, inside the server's `target_networks`.
    #[schema(max_length = 253, example = "10.0.0.5")]
    host: Option<String>,
    /// Default 22.
    #[schema(minimum = 1, maximum = 65535)]
    port: Option<i64>,
}

impl From<RaiseBody> for RaiseInput {
    fn from(b: RaiseBody) -> Self {
        RaiseInput {
            customer_id: b.customer_id,
            x_customer_id: b.x_customer_id,
            incident_id: b.incident_id,
            simple_description: b.simple_description,
            auth_describe: b.auth_describe,
            resource_type_id: b.resource_type_id,
            visit_type_id: b.visit_type_id,
            content_type_id: b.content_type_id,
            content_of_auth_letter: b.content_of_auth_letter,
            requested_effective_time: b.requested_effective_time,
            requested_expire_time: b.requested_expire_time,
            details: b.details.map(|ds| {
                ds.into_iter()
                    .map(|d| DetailInput {
                        detail_type: d.detail_type,
                        instance_id: d.instance_id,
                        instance_name: d.instance_name,
                        region_id: d.region_id,
                        host: d.host,
                        port: d.port,
                    })
                    .collect()
            }),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct RecallBody {
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct OperationsBody {
    #[schema(value_type = Vec<OperationItem>, required = true, min_items = 1, max_items = 1000)]
    pub operations: Option<Vec<OperationItem>>,
}

#[derive(Deserialize, ToSchema)]
pub struct OperationItem {
    /// The command line.
    #[schema(value_type = String, required = true, min_length = 1)]
    oper: Option<String>,
    /// RFC 3339, within the session.
    #[schema(value_type = String, required = true, example = "2026-11-28T13:05:00Z")]
    operate_time: Option<String>,
}

impl From<OperationItem> for OperationInput {
    fn from(o: OperationItem) -> Self {
        OperationInput {
            oper: o.oper,
            operate_time: o.operate_time,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct FileTransfersBody {
    #[schema(value_type = Vec<FileTransferItem>, required = true, min_items = 1, max_items = 1000)]
    pub file_transfers: Option<Vec<FileTransferItem>>,
}

#[derive(Deserialize, ToSchema)]
pub struct FileTransferItem {
    /// e.g. `upload` or `download`.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64)]
    operate_type: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 512)]
    file_name: Option<String>,
    #[schema(max_length = 1024)]
    from_path: Option<String>,
    #[schema(max_length = 1024)]
    to_path: Option<String>,
    #[schema(value_type = i64, required = true, minimum = 0)]
    file_size_bytes: Option<i64>,
    #[schema(value_type = i64, required = true, minimum = 0)]
    duration_ms: Option<i64>,
    /// e.g. `success`.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64)]
    oper_result: Option<String>,
    /// RFC 3339, within the session.
    #[schema(value_type = String, required = true, example = "2026-11-28T13:05:00Z")]
    operate_time: Option<String>,
}

impl From<FileTransferItem> for FileTransferInput {
    fn from(t: FileTransferItem) -> Self {
        FileTransferInput {
            operate_type: t.operate_type,
            file_name: t.file_name,
            from_path: t.from_path,
            to_path: t.to_path,
            file_size_bytes: t.file_size_bytes,
            duration_ms: t.duration_ms,
            oper_result: t.oper_result,
            operate_time: t.operate_time,
        }
    }
}

/// An authorization as the engineer sees it: customer fields plus provider-only ones,
/// times in RFC 3339 UTC. Never any secret.
#[derive(Serialize, ToSchema)]
pub struct ProviderAuthorization {
    id: String,
    status: i32,
    customer_id: String,
    x_customer_id: String,
    xcustomer_name: String,
    incident_id: String,
    simple_description: String,
    auth_describe: String,
    resource_type_id: String,
    resource_type_name: String,
    visit_type_id: String,
    visit_type_name: String,
    content_type_id: String,
    content_type_name: String,
    content_of_auth_letter: String,
    create_time: String,
    pending_expire_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_effective_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_expire_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_effective_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_expire_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reject_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_handler_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agency_id: Option<String>,
    raised_by: String,
    raised_by_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Vec<ProviderDetail>>,
}

#[derive(Serialize, ToSchema)]
struct ProviderDetail {
    id: i64,
    #[serde(rename = "type")]
    detail_type: i32,
    instance_id: String,
    instance_name: String,
    region_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    /// Whether host credentials are currently held for this detail.
    credential_stored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_key_fingerprint: Option<String>,
}

impl ProviderAuthorization {
    /// `with_details` is false for list rows, which are read without them.
    pub fn new(a: Authorization, lang: Language, with_details: bool) -> Self {
        ProviderAuthorization {
            id: a.id.to_string(),
            status: a.status.code(),
            resource_type_name: catalog::name(RESOURCE_TYPES, &a.resource_type_id, lang).into(),
            visit_type_name: catalog::name(VISIT_TYPES, &a.visit_type_id, lang).into(),
            content_type_name: catalog::name(CONTENT_TYPES, &a.content_type_id, lang).into(),
            create_time: format_utc(a.created_at),
            pending_expire_time: format_utc(a.pending_deadline),
            requested_effective_time: utc(a.requested_effective_at),
            requested_expire_time: utc(a.requested_expire_at),
            auth_effective_time: utc(a.effective_at),
            auth_expire_time: utc(a.expire_at),
            customer_id: a.customer_id,
            x_customer_id: a.x_customer_id,
            xcustomer_name: a.xcustomer_name,
            incident_id: a.incident_id,
            simple_description: a.simple_description,
            auth_describe: a.auth_describe,
            resource_type_id: a.resource_type_id,
            visit_type_id: a.visit_type_id,
            content_type_id: a.content_type_id,
            content_of_auth_letter: a.content_of_auth_letter,
            reject_reason: a.reject_reason,
            auth_handler_name: a.handler_name,
            agency_id: a.agency_id,
            raised_by: a.raised_by,
            raised_by_name: a.raised_by_name,
            details: with_details.then(|| {
                a.details
                    .into_iter()
                    .map(|d| ProviderDetail {
                        id: d.id.0,
                        detail_type: d.detail_type.code(),
                        port: d.port(),
                        instance_id: d.instance_id,
                        instance_name: d.instance_name,
                        region_id: d.region_id,
                        host: d.host,
                        account: d.account,
                        credential_stored: d.has_credential,
                        host_key_fingerprint: d.host_key_fingerprint,
                    })
                    .collect()
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProviderListResponse {
    pub count: u64,
    pub authorizations: Vec<ProviderAuthorization>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionOpened {
    pub session_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Appended {
    pub appended: usize,
}

// ---- Identity API -----------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    pub auth: Option<TokenAuth>,
}

#[derive(Deserialize, ToSchema)]
pub struct TokenAuth {
    pub identity: Option<TokenIdentity>,
    pub scope: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
pub struct TokenIdentity {
    pub methods: Option<Vec<String>>,
    pub password: Option<TokenPassword>,
}

#[derive(Deserialize, ToSchema)]
pub struct TokenPassword {
    pub user: Option<TokenUser>,
}

#[derive(Deserialize, ToSchema)]
pub struct TokenUser {
    pub name: Option<String>,
    pub password: Option<String>,
    pub domain: Option<NameOrId>,
}

#[derive(Deserialize, Serialize, Clone, ToSchema)]
pub struct NameOrId {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub token: TokenBody,
}

#[derive(Serialize, ToSchema)]
pub struct TokenBody {
    pub expires_at: String,
    pub issued_at: String,
    pub methods: Vec<&'static str>,
    pub user: TokenUserBody,
    pub domain: NameOrId,
    pub roles: Vec<NameOrId>,
    pub catalog: Vec<serde_json::Value>,
}

/// `GET /v3/auth/domains`.
#[derive(Serialize, ToSchema)]
pub struct DomainList {
    pub domains: Vec<NameOrId>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenUserBody {
    pub id: String,
    pub name: String,
    pub domain: NameOrId,
    pub password_expires_at: String,
}
