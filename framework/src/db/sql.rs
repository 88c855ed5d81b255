//! Portable placeholders: queries are written with `$1, $2, ...` and rewritten for MySQL.
//!
//! PostgreSQL and SQLite (through sqlx) accept `$N`; MySQL and MariaDB accept only `?`. No
//! maintained crate does just this rewrite, and a query builder would be a heavier dependency
//! for every service, so this scanner skips quoted strings, quoted identifiers and comments and
//! replaces each `$N` with `?`.

use super::DbKind;

/// Why a query cannot be rewritten for MySQL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "placeholder `${found}` appears where `${expected}` was expected: for MySQL, write $1, $2, ... once each, in order"
)]
pub struct PlaceholderOrder {
    expected: usize,
    found: usize,
}

/// Rewrites `$1, $2, ...` to `?`, requiring them in ascending order, each once. The lexical rules
/// follow `dialect`: MySQL also has `#` comments and backslash escapes in quoted text;
/// PostgreSQL (standard-conforming strings) and SQLite have neither.
pub(crate) fn to_question_marks(query: &str, dialect: DbKind) -> Result<String, PlaceholderOrder> {
    let mysql = dialect == DbKind::MySql;
    let bytes = query.as_bytes();
    let mut out = String::with_capacity(query.len());
    let mut expected = 1;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"' | b'`') => i = skip_quoted(bytes, i, quote, mysql),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_until(bytes, i, b"\n"),
            b'#' if mysql => i = skip_until(bytes, i, b"\n"),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_until(bytes, i + 2, b"*/"),
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let start = i;
                i += 1;
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                let found: usize = query[start + 1..i].parse().unwrap_or(0);
                if found != expected {
                    return Err(PlaceholderOrder { expected, found });
                }
                expected += 1;
                out.push_str(&query[copied..start]);
                out.push('?');
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&query[copied..]);
    Ok(out)
}

/// Index just past the quoted run starting at `start` (a doubled quote is an escaped quote).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Index just past the first `end` at or after `from`, or the end of input.
fn skip_until(bytes: &[u8], from: usize, end: &[u8]) -> usize {
    bytes[from..]
        .windows(end.len())
        .position(|w| w == end)
        .map(|p| from + p + end.len())
        .unwrap_or(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_numbered_placeholders() {
        let q =
            to_question_marks("UPDATE t SET a = $1, b = $2 WHERE id = $3", DbKind::MySql).unwrap();
        assert_eq!(q, "UPDATE t SET a = ?, b = ? WHERE id = ?");
    }

    #[test]
    fn leaves_quoted_text_and_comments_alone() {
        let q = "SELECT '$1 it''s', \"$2\", `$3` -- $4\n FROM t /* $5 */ WHERE a = $1 # $6\n";
        let out = to_question_marks(q, DbKind::MySql).unwrap();
        assert_eq!(
            out,
            "SELECT '$1 it''s', \"$2\", `$3` -- $4\n FROM t /* $5 */ WHERE a = ? # $6\n"
        );
    }

    #[test]
    fn handles_backslash_escapes_and_ten_plus() {
        let q = "SELECT 'a\\'$1', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10";
        let out = to_question_marks(q, DbKind::MySql).unwrap();
        assert_eq!(out, "SELECT 'a\\'$1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?");
    }

    #[test]
    fn rejects_out_of_order_placeholders() {
        let err = to_question_marks("SELECT $2, $1", DbKind::Sqlite).unwrap_err();
        assert_eq!(
            err,
            PlaceholderOrder {
                expected: 1,
                found: 2
            }
        );
    }

    #[test]
    fn postgres_rules_have_no_hash_comments_or_backslash_escapes() {
        // `#` is an operator in PostgreSQL, a comment in MySQL.
        let q = "SELECT flags # $1\n FROM t WHERE a = $2";
        assert!(to_question_marks(q, DbKind::Postgres).is_ok());
        assert!(to_question_marks(q, DbKind::MySql).is_err());
        // `\` is an ordinary character in standard SQL strings, an escape in MySQL.
        let q = "SELECT 'C:\\', $1";
        let placeholders = |d| to_question_marks(q, d).unwrap().matches('?').count();
        assert_eq!(placeholders(DbKind::Postgres), 1);
        assert_eq!(placeholders(DbKind::Sqlite), 1);
        assert_eq!(placeholders(DbKind::MySql), 0);
    }

    #[test]
    fn dollar_without_digit_is_text() {
        assert_eq!(
            to_question_marks("SELECT $a, $1", DbKind::Postgres).unwrap(),
            "SELECT $a, ?"
        );
    }
}
