//! How the reqwest clients of one downstream are built: one shared client for static
//! instances, one per address for instances found by DNS.

use std::net::SocketAddr;
use std::time::Duration;

use crate::client::config::ClientConfig;

/// The connection settings every reqwest client of one downstream is built with.
#[derive(Clone)]
pub(crate) struct HttpSettings {
    connect_timeout: Duration,
    roots: Vec<reqwest::Certificate>,
    /// The client certificate presented to the downstream (`tls.cert_file`).
    identity: Option<reqwest::Identity>,
    /// With the `tls` feature and a client certificate: the rustls configuration whose
    /// certificate is reloaded when its files change (used instead of `roots` and `identity`).
    #[cfg(feature = "tls")]
    reloading: Option<tokio_rustls::rustls::ClientConfig>,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("connect_timeout", &self.connect_timeout)
            .field("extra_roots", &self.roots.len())
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

impl HttpSettings {
    /// The settings of `config`, reading `ca_file`; the error names the key below
    /// `clients.<name>`.
    pub(crate) fn from_config(config: &ClientConfig) -> Result<Self, (&'static str, String)> {
        let mut roots = Vec::new();
        let mut pems = Vec::new();
        for (key, file) in [
            ("ca_file", &config.ca_file),
            ("tls.ca_file", &config.tls.ca_file),
        ] {
            if let Some(path) = file {
                let (certs, pem) = read_roots(key, path)?;
                roots.extend(certs);
                pems.push(pem);
            }
        }
        let identity = crate::client::tls::identity(&config.tls)?;
        #[cfg(feature = "tls")]
        let reloading = match (&identity, &config.tls.cert_file, &config.tls.key_file) {
            (Some(_), Some(cert), Some(key)) => Some(
                crate::tls::client_config(&pems, cert.clone(), key.clone())
                    .map_err(|message| ("tls.cert_file", message))?,
            ),
            _ => None,
        };
        #[cfg(not(feature = "tls"))]
        drop(pems);
        Ok(Self {
            connect_timeout: config.connect_timeout,
            roots,
            identity,
            #[cfg(feature = "tls")]
            reloading,
        })
    }

    /// A client; with `pin = (host, addr)` it connects to `addr` for `host` while TLS (SNI,
    /// certificate verification) and `Host` still use the name.
    pub(crate) fn client(
        &self,
        pin: Option<(&str, SocketAddr)>,
    ) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true);
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.reloading {
            builder = builder.tls_backend_preconfigured(tls.clone());
        }
        #[cfg(feature = "tls")]
        let preconfigured = self.reloading.is_some();
        #[cfg(not(feature = "tls"))]
        let preconfigured = false;
        if !self.roots.is_empty() && !preconfigured {
            builder = builder.tls_certs_merge(self.roots.iter().cloned());
        }
        if let Some(identity) = self.identity.as_ref().filter(|_| !preconfigured) {
            builder = builder.identity(identity.clone());
        }
        if let Some((host, addr)) = pin {
            builder = builder.resolve(host, addr);
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// The certificates of a CA bundle, and its PEM.
type Roots = (Vec<reqwest::Certificate>, Vec<u8>);

/// The certificates of the PEM bundle at `path` (below `clients.<name>.<key>`), and the PEM.
fn read_roots(key: &'static str, path: &std::path::Path) -> Result<Roots, (&'static str, String)> {
    let pem =
        std::fs::read(path).map_err(|e| (key, format!("cannot read `{}`: {e}", path.display())))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        (
            key,
            format!("`{}` is not a PEM certificate bundle: {e}", path.display()),
        )
    })?;
    if roots.is_empty() {
        return Err((
            key,
            format!("`{}` holds no PEM certificate", path.display()),
        ));
    }
    Ok((roots, pem))
}
