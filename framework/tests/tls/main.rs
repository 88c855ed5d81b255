//! TLS and mutual TLS on a servicekit service, with certificates generated per test (rcgen):
//! handshakes refused without, with an untrusted and with an expired client certificate,
//! `require_peer`, `ServiceClient` over mTLS, and certificate rotation under load.

mod client;
mod config;
mod handshake;
mod peer;
mod pki;
mod rotation;
