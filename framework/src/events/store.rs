//! The outbox and inbox tables: their DDL on each backend, staging, the relay's claims and
//! the inbox insert.
//!
//! The pool machinery is generic over [`Backend`]; the statements here need a concrete
//! connection, so each operation downcasts the connection to the driver it is (`AnyConnection`,
//! `PgConnection`, ...) and runs the same statement on it. The tables are plain and portable:
//! a sequence (the publishing order), the event id, key, type, the envelope as text and a
//! creation time in Unix milliseconds.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use sqlx::{AssertSqlSafe, Row};

use crate::db::{Backend, Database, DbKind};

/// Runs `$body` with `$c` bound to the concrete connection behind `$conn`.
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {{
        let conn: &mut (dyn Any + Send) = $conn;
        if conn.is::<sqlx::AnyConnection>() {
            let $c = conn
                .downcast_mut::<sqlx::AnyConnection>()
                .expect("checked with is");
            $body
        } else {
            with_conn!(@typed conn, |$c| $body)
        }
    }};
    (@typed $conn:ident, |$c:ident| $body:expr) => {{
        #[cfg(feature = "postgres")]
        if $conn.is::<sqlx::PgConnection>() {
            let $c = $conn.downcast_mut::<sqlx::PgConnection>().expect("checked with is");
            return $body;
        }
        #[cfg(feature = "mysql")]
        if $conn.is::<sqlx::MySqlConnection>() {
            let $c = $conn.downcast_mut::<sqlx::MySqlConnection>().expect("checked with is");
            return $body;
        }
        #[cfg(feature = "sqlite")]
        if $conn.is::<sqlx::SqliteConnection>() {
            let $c = $conn.downcast_mut::<sqlx::SqliteConnection>().expect("checked with is");
            return $body;
        }
        unreachable!("every Backend's connection is listed")
    }};
}

/// Unix milliseconds now.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The statements creating both tables, idempotently.
fn ddl(kind: DbKind) -> [&'static str; 2] {
    match kind {
        DbKind::Sqlite => [
            "CREATE TABLE IF NOT EXISTS servicekit_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
             event_id TEXT NOT NULL, event_key TEXT NOT NULL, event_type TEXT NOT NULL, \
             body TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS servicekit_inbox (consumer TEXT NOT NULL, \
             event_id TEXT NOT NULL, handled_at BIGINT NOT NULL, PRIMARY KEY (consumer, event_id))",
        ],
        DbKind::Postgres => [
            "CREATE TABLE IF NOT EXISTS servicekit_outbox (seq BIGSERIAL PRIMARY KEY, \
             event_id VARCHAR(64) NOT NULL, event_key VARCHAR(255) NOT NULL, \
             event_type VARCHAR(255) NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS servicekit_inbox (consumer VARCHAR(255) NOT NULL, \
             event_id VARCHAR(64) NOT NULL, handled_at BIGINT NOT NULL, \
             PRIMARY KEY (consumer, event_id))",
        ],
        DbKind::MySql => [
            "CREATE TABLE IF NOT EXISTS servicekit_outbox (seq BIGINT NOT NULL AUTO_INCREMENT \
             PRIMARY KEY, event_id VARCHAR(64) NOT NULL, event_key VARCHAR(255) NOT NULL, \
             event_type VARCHAR(255) NOT NULL, body MEDIUMTEXT NOT NULL, \
             created_at BIGINT NOT NULL) DEFAULT CHARSET = utf8mb4",
            "CREATE TABLE IF NOT EXISTS servicekit_inbox (consumer VARCHAR(191) NOT NULL, \
             event_id VARCHAR(64) NOT NULL, handled_at BIGINT NOT NULL, \
             PRIMARY KEY (consumer, event_id)) DEFAULT CHARSET = utf8mb4",
        ],
    }
}

/// One staged event.
#[derive(Debug, Clone)]
pub(crate) struct OutboxRow {
    pub(crate) seq: i64,
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) event_type: String,
    pub(crate) body: String,
}

/// The backlog: waiting rows and the oldest one's creation time (Unix ms).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Backlog {
    pub(crate) depth: u64,
    pub(crate) oldest_millis: Option<i64>,
}

/// Reads a text column that MySQL may hand over as bytes.
fn text<R: Row>(row: &R, index: usize) -> Result<String, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    match row.try_get::<String, _>(index) {
        Ok(text) => Ok(text),
        Err(first) => row
            .try_get::<Vec<u8>, _>(index)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|_| first),
    }
}

/// Inserts one outbox row on `conn` (inside the caller's transaction).
pub(crate) async fn insert_outbox<DB: Backend>(
    conn: &mut DB::Connection,
    kind: DbKind,
    id: &str,
    key: &str,
    event_type: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    let sql = match kind {
        DbKind::Postgres => {
            "INSERT INTO servicekit_outbox (event_id, event_key, event_type, body, created_at) \
             VALUES ($1, $2, $3, $4, $5)"
        }
        _ => {
            "INSERT INTO servicekit_outbox (event_id, event_key, event_type, body, created_at) \
             VALUES (?, ?, ?, ?, ?)"
        }
    };
    let now = now_millis();
    let conn = DB::connection_any(conn);
    with_conn!(conn, |c| {
        sqlx::query(sql)
            .bind(id.to_string())
            .bind(key.to_string())
            .bind(event_type.to_string())
            .bind(body.to_string())
            .bind(now)
            .execute(c)
            .await
            .map(|_| ())
    })
}

/// Inserts the inbox row for (`consumer`, `id`) on `conn`; `false` when it was there already
/// (the event was handled before).
pub(crate) async fn insert_inbox<DB: Backend>(
    conn: &mut DB::Connection,
    kind: DbKind,
    consumer: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let sql = match kind {
        DbKind::Postgres => {
            "INSERT INTO servicekit_inbox (consumer, event_id, handled_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING"
        }
        DbKind::MySql => {
            "INSERT IGNORE INTO servicekit_inbox (consumer, event_id, handled_at) VALUES (?, ?, ?)"
        }
        DbKind::Sqlite => {
            "INSERT OR IGNORE INTO servicekit_inbox (consumer, event_id, handled_at) VALUES (?, ?, ?)"
        }
    };
    let now = now_millis();
    let conn = DB::connection_any(conn);
    with_conn!(conn, |c| {
        sqlx::query(sql)
            .bind(consumer.to_string())
            .bind(id.to_string())
            .bind(now)
            .execute(c)
            .await
            .map(|done| done.rows_affected() == 1)
    })
}

/// A pool's outbox, for the relay and the readiness check, whatever its driver.
pub(crate) trait Store: Send + Sync + 'static {
    /// The backend.
    fn kind(&self) -> DbKind;
    /// Creates both tables if missing.
    fn create_tables(&self) -> BoxFuture<'_, Result<(), sqlx::Error>>;
    /// The number of waiting rows and the oldest's age.
    fn backlog(&self) -> BoxFuture<'_, Result<Backlog, sqlx::Error>>;
    /// One relay round: claims up to `limit` rows, hands each publishable one to `publish`
    /// (in order per key; keys concurrently) and deletes those published; returns how many
    /// were published and the first publish error (a key stops at its first failure, so
    /// order per key holds).
    fn relay_round<'a>(
        &'a self,
        limit: u32,
        publish: &'a (
                dyn Fn(OutboxRow) -> BoxFuture<'a, Result<(), super::transport::TransportError>>
                    + Send
                    + Sync
            ),
    ) -> BoxFuture<'a, Result<(usize, Option<super::transport::TransportError>), sqlx::Error>>;
}

impl<DB: Backend> Store for Database<DB> {
    fn kind(&self) -> DbKind {
        Database::kind(self)
    }

    fn create_tables(&self) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let mut conn = self.pool().acquire().await?;
            for statement in ddl(Database::kind(self)) {
                DB::run(&mut conn, statement).await?;
            }
            Ok(())
        })
    }

    fn backlog(&self) -> BoxFuture<'_, Result<Backlog, sqlx::Error>> {
        Box::pin(async move {
            let mut conn = self.pool().acquire().await?;
            backlog(DB::connection_any(&mut conn)).await
        })
    }

    fn relay_round<'a>(
        &'a self,
        limit: u32,
        publish: &'a (
                dyn Fn(OutboxRow) -> BoxFuture<'a, Result<(), super::transport::TransportError>>
                    + Send
                    + Sync
            ),
    ) -> BoxFuture<'a, Result<(usize, Option<super::transport::TransportError>), sqlx::Error>> {
        Box::pin(async move {
            let kind = Database::kind(self);
            let mut tx = self.pool().begin().await?;
            let rows = claim(DB::connection_any(&mut tx), kind, limit).await?;
            if rows.is_empty() {
                tx.commit().await?;
                return Ok((0, None));
            }
            let publishable = if kind == DbKind::Sqlite {
                rows
            } else {
                let max = rows.iter().map(|r| r.seq).max().unwrap_or(0);
                let waiting = keys_up_to(DB::connection_any(&mut tx), kind, max).await?;
                publishable(rows, &waiting)
            };
            let (sent, failure) = publish_by_key(publishable, publish).await;
            if !sent.is_empty() {
                delete(DB::connection_any(&mut tx), &sent).await?;
            }
            tx.commit().await?;
            Ok((sent.len(), failure))
        })
    }
}

/// The number of waiting rows and the oldest's creation time.
async fn backlog(conn: &mut (dyn Any + Send)) -> Result<Backlog, sqlx::Error> {
    with_conn!(conn, |c| {
        let row = sqlx::query("SELECT COUNT(*), MIN(created_at) FROM servicekit_outbox")
            .fetch_one(c)
            .await?;
        let depth: i64 = row.try_get(0)?;
        let oldest: Option<i64> = row.try_get(1)?;
        Ok(Backlog {
            depth: u64::try_from(depth).unwrap_or(0),
            oldest_millis: oldest,
        })
    })
}

/// Keys published at once in one round.
const KEYS_IN_FLIGHT: usize = 32;

/// Publishes `rows`: the rows of one key one after another, in order, stopping at that key's
/// first failure; different keys at once (up to [`KEYS_IN_FLIGHT`]). Returns the published
/// rows' `seq` and the first error.
async fn publish_by_key<'a>(
    rows: Vec<OutboxRow>,
    publish: &'a (
            dyn Fn(OutboxRow) -> BoxFuture<'a, Result<(), super::transport::TransportError>>
                + Send
                + Sync
        ),
) -> (Vec<i64>, Option<super::transport::TransportError>) {
    use futures_util::StreamExt;
    let mut order: Vec<String> = Vec::new();
    let mut by_key: HashMap<String, Vec<OutboxRow>> = HashMap::new();
    for row in rows {
        if !by_key.contains_key(&row.key) {
            order.push(row.key.clone());
        }
        by_key.entry(row.key.clone()).or_default().push(row);
    }
    let chains = order
        .into_iter()
        .filter_map(|key| by_key.remove(&key))
        .map(|chain| async move {
            let mut sent = Vec::new();
            for row in chain {
                let seq = row.seq;
                if let Err(e) = publish(row).await {
                    return (sent, Some(e));
                }
                sent.push(seq);
            }
            (sent, None)
        });
    let mut results = futures_util::stream::iter(chains).buffer_unordered(KEYS_IN_FLIGHT);
    let mut sent = Vec::new();
    let mut failure = None;
    while let Some((published, error)) = results.next().await {
        sent.extend(published);
        if failure.is_none() {
            failure = error;
        }
    }
    (sent, failure)
}

/// The oldest `limit` rows, locked for this transaction (skipping rows another relay holds)
/// on PostgreSQL and MySQL/MariaDB.
async fn claim(
    conn: &mut (dyn Any + Send),
    kind: DbKind,
    limit: u32,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    let lock = if kind == DbKind::Sqlite {
        ""
    } else {
        " FOR UPDATE SKIP LOCKED"
    };
    let sql = format!(
        "SELECT seq, event_id, event_key, event_type, body FROM servicekit_outbox \
         ORDER BY seq LIMIT {limit}{lock}"
    );
    with_conn!(conn, |c| {
        let rows = sqlx::query(AssertSqlSafe(sql.clone())).fetch_all(c).await?;
        rows.iter()
            .map(|row| {
                Ok(OutboxRow {
                    seq: row.try_get(0)?,
                    id: text(row, 1)?,
                    key: text(row, 2)?,
                    event_type: text(row, 3)?,
                    body: text(row, 4)?,
                })
            })
            .collect()
    })
}

/// Every waiting row up to `max`, claimed or not (a plain read: not blocked by other relays'
/// locks), as (seq, key) in order.
async fn keys_up_to(
    conn: &mut (dyn Any + Send),
    kind: DbKind,
    max: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let sql = match kind {
        DbKind::Postgres => {
            "SELECT seq, event_key FROM servicekit_outbox WHERE seq <= $1 ORDER BY seq"
        }
        _ => "SELECT seq, event_key FROM servicekit_outbox WHERE seq <= ? ORDER BY seq",
    };
    with_conn!(conn, |c| {
        let rows = sqlx::query(sql).bind(max).fetch_all(c).await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, text(row, 1)?)))
            .collect()
    })
}

/// The claimed rows that may be published now: for each key, the claimed rows before the
/// first waiting row of that key this relay did not claim (another relay holds it, so the
/// rest of the key waits for it).
fn publishable(claimed: Vec<OutboxRow>, waiting: &[(i64, String)]) -> Vec<OutboxRow> {
    let mine: HashSet<i64> = claimed.iter().map(|r| r.seq).collect();
    let mut blocked: HashMap<&str, bool> = HashMap::new();
    let mut allowed = HashSet::new();
    for (seq, key) in waiting {
        let blocked = blocked.entry(key.as_str()).or_insert(false);
        if !mine.contains(seq) {
            *blocked = true;
        } else if !*blocked {
            allowed.insert(*seq);
        }
    }
    claimed
        .into_iter()
        .filter(|r| allowed.contains(&r.seq))
        .collect()
}

/// Deletes the published rows.
async fn delete(conn: &mut (dyn Any + Send), seqs: &[i64]) -> Result<(), sqlx::Error> {
    let list = seqs
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!("DELETE FROM servicekit_outbox WHERE seq IN ({list})");
    with_conn!(conn, |c| {
        sqlx::query(AssertSqlSafe(sql.clone()))
            .execute(c)
            .await
            .map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, key: &str) -> OutboxRow {
        OutboxRow {
            seq,
            id: seq.to_string(),
            key: key.into(),
            event_type: "t".into(),
            body: String::new(),
        }
    }

    #[test]
    fn a_key_waits_behind_a_row_another_relay_holds() {
        // Rows 1..=5; this relay claimed 1, 3, 4, 5; another holds 2 (key b).
        let claimed = vec![row(1, "a"), row(3, "b"), row(4, "a"), row(5, "c")];
        let waiting: Vec<(i64, String)> = [(1, "a"), (2, "b"), (3, "b"), (4, "a"), (5, "c")]
            .iter()
            .map(|(s, k)| (*s, (*k).to_string()))
            .collect();
        let seqs: Vec<i64> = publishable(claimed, &waiting)
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, vec![1, 4, 5]);
    }
}
