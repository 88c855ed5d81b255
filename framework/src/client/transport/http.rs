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
        for (key, file) in [
            ("ca_file", &config.ca_file),
            ("tls.ca_file", &config.tls.ca_file),
        ] {
            if let Some(path) = file {
                roots.extend(read_roots(key, path)?);
            }
        }
        Ok(Self {
            connect_timeout: config.connect_timeout,
            roots,
            identity: crate::client::tls::identity(&config.tls)?,
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
        if !self.roots.is_empty() {
            builder = builder.tls_certs_merge(self.roots.iter().cloned());
        }
        if let Some(identity) = &self.identity {
            builder = builder.identity(identity.clone());
        }
        if let Some((host, addr)) = pin {
            builder = builder.resolve(host, addr);
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// The certificates of the PEM bundle at `path` (below `clients.<name>.<key>`).
fn read_roots(
    key: &'static str,
    path: &std::path::Path,
) -> Result<Vec<reqwest::Certificate>, (&'static str, String)> {
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
    Ok(roots)
}
