//! Verification keys: HMAC secrets, PEM public keys, JSON Web Key Sets by URL or by OpenID
//! discovery; cached, refreshed in the background and refetched on an unknown `kid`.

mod check;
mod fetch;
mod key;
mod store;

pub(crate) use check::KeysCheck;
pub(crate) use fetch::{discover, error_chain};
pub(crate) use key::{KeySet, VerifyKey};
pub(crate) use store::{KeyStore, Source, spawn_refresher};
