//! The verified identity of a mutual-TLS client, read from its certificate's subject
//! alternative names, and its axum extractor.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::server::Problem;

/// Who the client of a mutual-TLS connection is: the URI and DNS subject alternative names of
/// the certificate it presented, which the handshake verified against `server.tls.client_ca_file`.
///
/// Every request of such a connection carries it in its extensions; as an extractor it
/// answers 403 problem+json when the connection presented no certificate.
///
/// ```
/// use servicekit::tls::PeerIdentity;
///
/// async fn whoami(peer: PeerIdentity) -> String {
///     peer.name().unwrap_or("anonymous").to_string()
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    inner: Arc<Names>,
}

#[derive(Debug, PartialEq, Eq)]
struct Names {
    uris: Vec<String>,
    dns_names: Vec<String>,
}

impl PeerIdentity {
    /// An identity with these names (for tests and custom verifiers).
    pub fn new(
        uris: impl IntoIterator<Item = impl Into<String>>,
        dns_names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            inner: Arc::new(Names {
                uris: uris.into_iter().map(Into::into).collect(),
                dns_names: dns_names.into_iter().map(Into::into).collect(),
            }),
        }
    }

    /// The names of a DER certificate; `None` if it does not parse.
    pub(crate) fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let mut uris = Vec::new();
        let mut dns_names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::URI(uri) => uris.push((*uri).to_string()),
                    GeneralName::DNSName(dns) => dns_names.push((*dns).to_string()),
                    _ => {}
                }
            }
        }
        Some(Self::new(uris, dns_names))
    }

    /// The URI names, such as SPIFFE IDs (`spiffe://school/subject-service`).
    pub fn uris(&self) -> &[String] {
        &self.inner.uris
    }

    /// The DNS names.
    pub fn dns_names(&self) -> &[String] {
        &self.inner.dns_names
    }

    /// The name that identifies the peer: its first URI, else its first DNS name.
    pub fn name(&self) -> Option<&str> {
        self.uris()
            .first()
            .or_else(|| self.dns_names().first())
            .map(String::as_str)
    }

    /// Whether `name` is one of the peer's URI or DNS names (exact match).
    pub fn has(&self, name: &str) -> bool {
        self.uris()
            .iter()
            .chain(self.dns_names())
            .any(|n| n == name)
    }
}

/// The 403 answered when a route needs a peer certificate and the connection has none.
pub(crate) fn no_peer() -> Problem {
    Problem::new(StatusCode::FORBIDDEN)
        .with_detail("this endpoint needs a client certificate (mutual TLS)")
}

impl<S: Send + Sync> FromRequestParts<S> for PeerIdentity {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or_else(no_peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_subject_alternative_names() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["subject.internal".to_string()]).unwrap();
        params.subject_alt_names.push(rcgen::SanType::URI(
            "spiffe://school/subject-service".try_into().unwrap(),
        ));
        let cert = params.self_signed(&key).unwrap();

        let peer = PeerIdentity::from_der(cert.der()).unwrap();
        assert_eq!(peer.uris(), ["spiffe://school/subject-service"]);
        assert_eq!(peer.dns_names(), ["subject.internal"]);
        assert_eq!(peer.name(), Some("spiffe://school/subject-service"));
        assert!(peer.has("subject.internal"));
        assert!(!peer.has("spiffe://school/gateway"));
        assert_eq!(PeerIdentity::from_der(b"not a certificate"), None);

        let dns_only = PeerIdentity::new(Vec::<String>::new(), ["a.internal"]);
        assert_eq!(dns_only.name(), Some("a.internal"));
    }
}
