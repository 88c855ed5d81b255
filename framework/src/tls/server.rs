//! The TLS side of the main listener: the rustls server configuration of `[server.tls]` and
//! the handshake step of the accept loop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Extensions;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::version::{TLS12, TLS13};
use tokio_rustls::rustls::{ServerConfig as RustlsConfig, SupportedProtocolVersion};
use tokio_rustls::server::TlsStream;

use super::reload::{self, CurrentConfig, ReloadingCert};
use super::source::{certified_key, client_roots, provider};
use super::{PeerIdentity, TlsConfig, TlsVersion};
use crate::invalid::InvalidSetting;
use crate::secrets::Secrets;
use crate::server::ServerConfig;
use crate::telemetry::catalog::TLS_HANDSHAKE_FAILURES_TOTAL;

/// The handshake of the main listener's connections.
#[derive(Clone)]
pub(crate) struct ServerTls {
    current: Arc<CurrentConfig>,
}

impl ServerTls {
    /// The TLS of `server`, `None` without `[server.tls]`; starts the reload task, which
    /// polls the files and follows the secrets behind `refs` (configuration key to reference)
    /// in `secrets`.
    pub(crate) fn start(
        server: &ServerConfig,
        refs: &BTreeMap<String, String>,
        secrets: &Secrets,
    ) -> Result<Option<Self>, InvalidSetting> {
        let Some(tls) = &server.tls else {
            return Ok(None);
        };
        let cert = ReloadingCert::new(certified_key(tls)?);
        let current = CurrentConfig::new(rustls_config(tls, cert.clone())?, cert);
        reload::spawn(tls.clone(), &current, refs, secrets);
        Ok(Some(Self { current }))
    }

    /// Runs the handshake on `tcp`, within `timeout`; the extensions hold the client's
    /// [`PeerIdentity`] when it presented a (verified) certificate.
    pub(crate) async fn accept(
        &self,
        tcp: TcpStream,
        timeout: Duration,
    ) -> std::io::Result<(TlsStream<TcpStream>, Option<Extensions>)> {
        let acceptor = TlsAcceptor::from(self.current.get());
        let stream = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                metrics::counter!(TLS_HANDSHAKE_FAILURES_TOTAL, "reason" => "refused").increment(1);
                return Err(e);
            }
            Err(_) => {
                metrics::counter!(TLS_HANDSHAKE_FAILURES_TOTAL, "reason" => "timeout").increment(1);
                return Err(std::io::ErrorKind::TimedOut.into());
            }
        };
        let peer = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|leaf| PeerIdentity::from_der(leaf));
        let extensions = peer.map(|peer| {
            let mut extensions = Extensions::new();
            extensions.insert(peer);
            extensions
        });
        Ok((stream, extensions))
    }
}

/// The rustls configuration: versions, client verification (mutual TLS), ALPN h2 and
/// http/1.1, the reloading certificate.
pub(super) fn rustls_config(
    tls: &TlsConfig,
    cert: Arc<ReloadingCert>,
) -> Result<RustlsConfig, InvalidSetting> {
    let provider = provider();
    let versions: &[&'static SupportedProtocolVersion] = match tls.min_version {
        TlsVersion::V1_2 => &[&TLS13, &TLS12],
        TlsVersion::V1_3 => &[&TLS13],
    };
    let builder = RustlsConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| {
            InvalidSetting::new(
                "server.tls.min_version",
                format!("not supported by the crypto provider: {e}"),
                "set it to `1.2` or `1.3`",
            )
        })?;
    let builder = match client_roots(tls)? {
        None => builder.with_no_client_auth(),
        Some(roots) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| {
                    InvalidSetting::new(
                        "server.tls.client_ca_file",
                        format!("cannot verify clients with these CAs: {e}"),
                        "give a PEM bundle of the CA certificates that sign client certificates",
                    )
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(cert);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
