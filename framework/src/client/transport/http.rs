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
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("connect_timeout", &self.connect_timeout)
            .field("extra_roots", &self.roots.len())
            .finish()
    }
}

impl HttpSettings {
    /// The settings of `config`, reading `ca_file`; the error names the key below
    /// `clients.<name>`.
    pub(crate) fn from_config(config: &ClientConfig) -> Result<Self, (&'static str, String)> {
        let roots = match &config.ca_file {
            None => Vec::new(),
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| ("ca_file", format!("cannot read `{}`: {e}", path.display())))?;
                let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    (
                        "ca_file",
                        format!("`{}` is not a PEM certificate bundle: {e}", path.display()),
                    )
                })?;
                if roots.is_empty() {
                    return Err((
                        "ca_file",
                        format!("`{}` holds no PEM certificate", path.display()),
                    ));
                }
                roots
            }
        };
        Ok(Self {
            connect_timeout: config.connect_timeout,
            roots,
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
        if let Some((host, addr)) = pin {
            builder = builder.resolve(host, addr);
        }
        builder.build().map_err(|e| e.to_string())
    }
}
