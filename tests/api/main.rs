//! Integration tests: a real server on an ephemeral port, a fresh database per test,
//! spoken to over HTTP as a client would. With `SUPPORT_ACCESS_TEST_POSTGRES` set
//! every test runs on PostgreSQL (a database of its own) instead of SQLite.

mod admin_audit;
mod broker;
mod broker_host;
mod check_hosts;
mod cli_client;
mod concurrency;
mod console;
mod copy;
mod expiry;
mod hardening;
mod helpers;
mod idempotency;
mod limits;
mod malformed;
mod operator;
mod outage;
mod outbox;
mod properties;
mod restart;
mod secrets;
mod signing;
mod ssh_host;
mod tls;
mod transitions;
mod visibility;
mod webhooks;
mod workflow;
