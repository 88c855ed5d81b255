//! `<service> healthcheck`: probe the running service's liveness endpoint and exit 0 or 1.
//!
//! Minimal runtime images (distroless) have no `curl` for a Docker `HEALTHCHECK`; the service
//! binary probes itself instead. One HTTP/1.0 GET over a loopback socket needs no HTTP client.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use super::ServiceBuilder;

/// The command-line argument that selects the probe instead of the service.
pub(crate) const ARG: &str = "healthcheck";

const TIMEOUT: Duration = Duration::from_secs(3);

/// Loads the configuration as the service would and GETs its liveness path on loopback.
pub(crate) fn run(builder: &ServiceBuilder) -> ExitCode {
    let config = match builder.sources.load(&builder.name) {
        Ok(loaded) => loaded.config,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = config.server.admin_port.unwrap_or(config.server.port);
    match probe(port, &config.health.live_path) {
        Ok(status) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("healthcheck: {} answered {status}", config.health.live_path);
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
