//! support-access: the support access authorization workflow, with a customer API
//! wire-compatible with Huawei Cloud's Service Ticket (OSM v2) authorization API.
//!
//! Layers, each depending only on those before it:
//! `domain` (pure rules) → `store` (persistence behind a trait) → `service` (use
//! cases) → `http` (the wire), `console` (the web pages) and `cli` (the command line).

pub mod auth;
pub mod broker;
pub mod causes;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod crypto;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tls;
