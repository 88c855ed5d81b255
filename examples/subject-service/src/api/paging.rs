//! Keyset pagination shared by `GET /subjects` and `GET /subjects/{id}/enrolments`: `limit` and
//! `after` in, one page and its `next` key out.

use serde::Deserialize;
use servicekit::prelude::*;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::Settings;

/// The query of a paginated list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Page size: 1 to `app.max_page_size` (100 by default); `app.default_page_size` if absent.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[serde(default, deserialize_with = "hyphenated_uuid")]
    after: Option<Uuid>,
}

impl ListQuery {
    /// The page size asked for, or the default; a 422 naming `limit` when out of range.
    pub(super) fn limit(&self, settings: &Settings) -> Result<u32, Problem> {
        let max = settings.max_page_size;
        let limit = self.limit.unwrap_or(settings.default_page_size);
        if limit == 0 || limit > max {
            return Err(Problem::validation([(
                "limit",
                format!("must be between 1 and {max}"),
            )]));
        }
        Ok(limit)
    }

    /// The key after which the page starts, as stored.
    pub(super) fn after(&self) -> Option<String> {
        self.after.map(|id| id.to_string())
    }
}

/// Cuts `items`, read with `limit + 1` rows, to `limit` and returns the key of the last one
/// kept when the extra row showed that there is a next page.
pub(super) fn page<T>(
    mut items: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> &str,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if items.len() > limit {
        items.truncate(limit);
        let next = items.last().map(|item| key(item).to_string());
        (items, next)
    } else {
        (items, None)
    }
}

/// A UUID in the hyphenated form only, as the document's `format: uuid` says (`Uuid`'s own
/// deserializer also takes the braced, URN and simple forms).
fn hyphenated_uuid<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    let text = String::deserialize(d)?;
    Some(text.as_str())
        .filter(|t| t.len() == 36)
        .and_then(|t| Uuid::parse_str(t).ok())
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom("expected a UUID like 01a22d05-e436-70a4-951b-555fece239fc")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extra_row_means_a_next_page() {
        let (items, next) = page(vec!["a", "b", "c"], 2, |s| s);
        assert_eq!(items, ["a", "b"]);
        assert_eq!(next.as_deref(), Some("b"));
        let (items, next) = page(vec!["a", "b"], 2, |s| s);
        assert_eq!(items, ["a", "b"]);
        assert_eq!(next, None);
    }
}
