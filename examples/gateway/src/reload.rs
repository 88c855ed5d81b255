//! Blue/green without a restart: the route table is read again from `app.routes_file` on
//! `SIGHUP` and whenever the file's content changes, and swapped whole.
//!
//! The framework loads its configuration once, at startup; only the gateway's route table
//! (routes and releases) is live. The swap is an [`ArcSwap`]: each request loads the table
//! once, so a request in flight finishes on the table it started with and none is dropped.
//! A file that does not parse or names an unknown client is logged and ignored; the table
//! in use stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use figment::Figment;
use figment::providers::{Format, Toml};

use crate::settings::TableConfig;
use crate::table::{Clients, RouteTable};

/// Reads and builds the route table in `path`; the error names the file and the key.
pub fn load(path: &Path, clients: &Clients) -> Result<RouteTable, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("app.routes_file: cannot read `{}`: {e}", path.display()))?;
    table_from(&text, path, clients)
}

fn table_from(text: &str, path: &Path, clients: &Clients) -> Result<RouteTable, String> {
    let config: TableConfig = Figment::from(Toml::string(text))
        .extract()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    RouteTable::build(&config, clients, "").map_err(|e| format!("{}: {e}", path.display()))
}

/// Watches `path` until the table is dropped (the service stopped).
pub fn spawn(table: &Arc<ArcSwap<RouteTable>>, path: PathBuf, every: Duration, clients: Clients) {
    let table = Arc::downgrade(table);
    tokio::spawn(async move {
        let mut last = std::fs::read(&path).ok();
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(signal) => Some(signal),
            Err(e) => {
                tracing::warn!(error = %e, "no SIGHUP handler; the routes file is polled only");
                None
            }
        };
        let poll = !every.is_zero();
        let mut tick = tokio::time::interval(if poll {
            every
        } else {
            Duration::from_secs(3600)
        });
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let signalled = tokio::select! {
                Some(()) = hung_up(hangup.as_mut()) => true,
                _ = tick.tick() => false,
            };
            let Some(table) = table.upgrade() else { return };
            if !signalled && !poll {
                continue;
            }
            let now = std::fs::read(&path).ok();
            if !signalled && now == last {
                continue;
            }
            reload(&table, &path, now.as_deref(), &clients);
            last = now;
        }
    });
}

/// The next `SIGHUP`; never without a handler.
async fn hung_up(signal: Option<&mut tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

/// Builds the table from `content` (the file's bytes, `None` when unreadable) and swaps it in.
fn reload(table: &ArcSwap<RouteTable>, path: &Path, content: Option<&[u8]>, clients: &Clients) {
    let built = match content {
        None => Err(format!("app.routes_file: cannot read `{}`", path.display())),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => table_from(text, path, clients),
            Err(e) => Err(format!("{}: not UTF-8: {e}", path.display())),
        },
    };
    match built {
        Ok(new) => {
            table.store(Arc::new(new));
            tracing::info!(file = %path.display(), "route table reloaded");
        }
        Err(error) => {
            tracing::error!(%error, "route table not reloaded; the previous one stays in use");
        }
    }
}
