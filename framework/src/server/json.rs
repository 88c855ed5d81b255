//! `Json<T>`: axum's JSON extractor, plus one rule every service needs: no NUL character.
//!
//! JSON text may carry U+0000 as the escape `\u0000`; serde accepts it, but PostgreSQL cannot
//! store it in `text` (`invalid byte sequence for encoding "UTF8": 0x00`), so a service that
//! extracts with `axum::Json` answers such a body with a 500 after a failed write. This extractor
//! rejects it as a 422 problem naming the field, before any handler code runs, on every backend.
//!
//! The check is a single pass over the body's bytes looking for the escape; only a body that has
//! one is parsed a second time, to name the field. Everything else (content type, syntax, data
//! errors, body limits) is axum's own extractor and rejections, which the problem layer turns
//! into problem+json.

use axum::extract::rejection::{JsonRejection as AxumJsonRejection, MissingJsonContentType};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Problem;

/// JSON request body extractor and response, like [`axum::Json`], that also rejects the NUL
/// character (`\u0000`) anywhere in the body's strings with a 422 problem.
///
/// ```
/// use servicekit::Json;
///
/// #[derive(serde::Deserialize, serde::Serialize)]
/// struct Input { name: String }
///
/// async fn create(Json(input): Json<Input>) -> Json<Input> {
///     Json(input)
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::post(create));
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct Json<T>(pub T);

/// Why [`Json`] rejected a request.
#[derive(Debug)]
pub enum JsonRejection {
    /// axum's own rejection: wrong content type, malformed JSON, wrong shape, body too large.
    Json(AxumJsonRejection),
    /// A string (or key) of the body contains U+0000; `field` names where, e.g. `name` or
    /// `items[0].name`.
    NulCharacter {
        /// Where the first NUL character is.
        field: String,
    },
}

impl IntoResponse for JsonRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Json(rejection) => rejection.into_response(),
            Self::NulCharacter { field } => {
                Problem::validation([(field, "must not contain the NUL character (\\u0000)")])
                    .into_response()
            }
        }
    }
}

impl From<AxumJsonRejection> for JsonRejection {
    fn from(rejection: AxumJsonRejection) -> Self {
        Self::Json(rejection)
    }
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = JsonRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(AxumJsonRejection::from(MissingJsonContentType::default()).into());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(AxumJsonRejection::from)?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        if has_nul_escape(&bytes) {
            return Err(JsonRejection::NulCharacter {
                field: nul_field(&bytes),
            });
        }
        Ok(Self(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T> From<T> for Json<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

/// `application/json` or any `application/*+json`, as axum's extractor accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let subtype = subtype.to_ascii_lowercase();
    kind.eq_ignore_ascii_case("application") && (subtype == "json" || subtype.ends_with("+json"))
}

/// Whether valid JSON text contains the escape `\u0000`. Outside strings a valid document has no
/// backslash, and inside one every backslash starts an escape, so skipping each escape's next
/// byte finds exactly the escapes.
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1..i + 6) == Some(b"u0000".as_slice()) {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// The path of the first string or key holding U+0000 (`body` for the document itself).
fn nul_field(bytes: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return "body".into();
    };
    find_nul(&value, String::new()).unwrap_or_else(|| "body".into())
}

fn find_nul(value: &Value, path: String) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.clone()
        }
    };
    match value {
        Value::String(s) => s.contains('\0').then(here),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(child)
            } else {
                find_nul(item, child)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Input {
        #[allow(dead_code)]
        name: String,
    }

    fn request(content_type: &str, body: &str) -> Request {
        Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    async fn extract(content_type: &str, body: &str) -> Result<Json<Input>, JsonRejection> {
        Json::<Input>::from_request(request(content_type, body), &()).await
    }

    #[test]
    fn finds_only_real_nul_escapes() {
        assert!(has_nul_escape(br#"{"name":"a\u0000b"}"#));
        assert!(has_nul_escape(br#"{"a\u0000":1}"#));
        // An escaped backslash followed by the text `u0000` is no NUL.
        assert!(!has_nul_escape(br#"{"name":"a\\u0000b"}"#));
        assert!(has_nul_escape(br#"{"name":"a\\\u0000b"}"#));
        assert!(!has_nul_escape(br#"{"name":"a\u0001b"}"#));
    }

    #[test]
    fn names_the_field_with_the_nul() {
        let field = |s: &str| nul_field(s.as_bytes());
        assert_eq!(field(r#"{"name":"a\u0000"}"#), "name");
        assert_eq!(field(r#"{"a":{"b":["x","\u0000"]}}"#), "a.b[1]");
        assert_eq!(field(r#"{"k\u0000":1}"#), "k\u{0}");
        assert_eq!(field(r#""\u0000""#), "body");
    }

    #[tokio::test]
    async fn nul_is_a_422_problem_naming_the_field() {
        let rejection = extract("application/json", r#"{"name":"a\u0000b"}"#)
            .await
            .unwrap_err();
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            super::super::PROBLEM_JSON
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errors"][0]["field"], "name", "{body}");
    }

    #[tokio::test]
    async fn keeps_axum_s_checks() {
        assert!(
            extract("application/json", r#"{"name":"ok"}"#)
                .await
                .is_ok()
        );
        assert!(
            extract(
                "application/problem+json; charset=utf-8",
                r#"{"name":"a\\u0000"}"#
            )
            .await
            .is_ok()
        );
        let status = |r: Result<Json<Input>, JsonRejection>| match r {
            Err(JsonRejection::Json(j)) => j.status(),
            other => panic!("expected axum's rejection, got {other:?}"),
        };
        assert_eq!(
            status(extract("text/plain", r#"{"name":"a"}"#).await),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            status(extract("application/json", "{").await),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(extract("application/json", r#"{"name":1}"#).await),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
