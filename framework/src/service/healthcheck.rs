//! `<service> healthcheck`: probe the running service's liveness endpoint and exit 0 or 1.
//!
//! Minimal runtime images (distroless) have no `curl` for a Docker `HEALTHCHECK`; the service
//! binary probes itself instead. One HTTP/1.0 GET over a loopback socket needs no HTTP client.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use super::ServiceBuilder;
use crate::config::{HealthConfig, ServerConfig};

/// The command-line argument that selects the probe instead of the service.
pub(crate) const ARG: &str = "healthcheck";

const TIMEOUT: Duration = Duration::from_secs(3);

/// Reads the port and liveness path from the configuration layers (only those keys: no secret
/// is resolved and no other value validated, so a probe every few seconds costs no remote call)
/// and GETs the liveness path on loopback.
pub(crate) fn run(builder: &ServiceBuilder) -> ExitCode {
    let figment = builder.sources.figment();
    let server = ServerConfig::default();
    let port = figment
        .extract_inner::<u16>("server.admin_port")
        .ok()
        .or_else(|| figment.extract_inner::<u16>("server.port").ok())
        .unwrap_or(server.port);
    let live_path = figment
        .extract_inner::<String>("health.live_path")
        .unwrap_or_else(|_| HealthConfig::default().live_path);
    match probe(port, &live_path) {
        Ok(status) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("healthcheck: {live_path} answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("healthcheck: 127.0.0.1:{port}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The status code of `GET path` on `127.0.0.1:port`.
fn probe(port: u16, path: &str) -> std::io::Result<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut head = [0u8; 32];
    let n = stream.read(&mut head)?;
    // "HTTP/1.x NNN ..."
    std::str::from_utf8(&head[..n])
        .ok()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP response"))
}
