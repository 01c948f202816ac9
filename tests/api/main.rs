//! Integration tests: a real server on an ephemeral port, a fresh database per test,
//! spoken to over HTTP as a client would.

mod check_hosts;
mod concurrency;
mod expiry;
mod helpers;
mod limits;
mod malformed;
mod secrets;
mod ssh_host;
mod transitions;
mod visibility;
mod workflow;
