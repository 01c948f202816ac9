//! The pure domain: statuses, transitions, validation and visibility rules.
//!
//! Nothing here does I/O, awaits, or knows about HTTP or SQL; every rule is a plain
//! function over plain values so it can be unit-tested exhaustively.

pub mod audit;
pub mod audit_export;
pub mod authorization;
pub mod broker;
pub mod catalog;
pub mod confirm;
pub mod event;
pub mod host_check;
pub mod idempotency;
pub mod ids;
pub mod locale;
pub mod network_policy;
pub mod principal;
pub mod secret;
pub mod session;
pub mod status;
pub mod time;
pub mod validation;

pub use audit::{Actor, AuditDraft, AuditEvent};
pub use authorization::{Authorization, Detail, DetailType, NewAuthorization, NewDetail};
pub use ids::{AuthorizationId, DetailId, SessionId};
pub use locale::Language;
pub use principal::{Principal, PrincipalKind, Scope};
pub use status::{Action, Status, TransitionError};
pub use validation::{Rule, ValidationError};
