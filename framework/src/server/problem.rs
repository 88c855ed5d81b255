//! RFC 9457 problem details: the one error body every servicekit response uses.

use std::borrow::Cow;
use std::fmt;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// Media type of problem responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An HTTP error as RFC 9457 `application/problem+json`.
///
/// Handlers return `Result<T, Problem>`; `?` on an [`sqlx::Error`] maps not-found to 404, pool
/// exhaustion, an unreachable database and refused database credentials
/// ([`is_unavailable`](crate::db::is_unavailable)) to 503 with `Retry-After`, and everything
/// else to an opaque, logged 500.
///
/// ```
/// use servicekit::Problem;
/// use axum::http::StatusCode;
///
/// let p = Problem::not_found("student 42 does not exist");
/// assert_eq!(p.status(), StatusCode::NOT_FOUND);
///
/// let p = Problem::validation([("email", "must contain `@`")]);
/// assert_eq!(p.status(), StatusCode::UNPROCESSABLE_ENTITY);
/// ```
#[derive(Debug, Clone)]
pub struct Problem {
    // Boxed so that `Result<T, Problem>` stays small on the success path.
    inner: Box<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    status: StatusCode,
    body: Body,
    headers: HeaderMap,
}

#[derive(Debug, Clone, Serialize)]
struct Body {
    #[serde(rename = "type")]
    type_: Cow<'static, str>,
    title: Cow<'static, str>,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<String>,
    #[serde(flatten)]
    extensions: Map<String, Value>,
}

/// One invalid field of a request, listed under `errors` in a 422 problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's name as the client sent it, e.g. `email`.
    pub field: String,
    /// What is wrong, e.g. `must contain @`.
    pub message: String,
}

impl Problem {
    /// A problem with `status`, its standard reason as title, and type `about:blank`.
    pub fn new(status: StatusCode) -> Self {
        Self {
            inner: Box::new(Inner {
                status,
                body: Body {
                    type_: Cow::Borrowed("about:blank"),
                    title: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
                    status: status.as_u16(),
                    detail: None,
                    instance: None,
                    extensions: Map::new(),
                },
                headers: HeaderMap::new(),
            }),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST).with_detail(detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND).with_detail(detail)
    }

    /// 409 Conflict.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT).with_detail(detail)
    }

    /// 503 Service Unavailable.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE).with_detail(detail)
    }

    /// 422 Unprocessable Content listing each invalid field under `errors`.
    pub fn validation<F, M>(errors: impl IntoIterator<Item = (F, M)>) -> Self
    where
        F: Into<String>,
        M: Into<String>,
    {
        let errors: Vec<FieldError> = errors
            .into_iter()
            .map(|(field, message)| FieldError {
                field: field.into(),
                message: message.into(),
            })
            .collect();
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::new(StatusCode::UNPROCESSABLE_ENTITY)
            .with_detail(detail)
            .with_extension("errors", serde_json::to_value(errors).unwrap_or_default())
    }

    /// An opaque 500: `error` and its source chain are logged, the client sees no internals.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR)
            .with_detail("The server failed to handle the request; it has been logged.")
    }

    /// Sets the human-readable explanation of this occurrence.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.inner.body.detail = Some(detail.into());
        self
    }

    /// Sets the title (default: the status's reason phrase).
    #[must_use]
    pub fn with_title(mut self, title: impl Into<Cow<'static, str>>) -> Self {
        self.inner.body.title = title.into();
        self
    }

    /// Sets the problem type URI (default `about:blank`).
    #[must_use]
    pub fn with_type(mut self, type_uri: impl Into<Cow<'static, str>>) -> Self {
        self.inner.body.type_ = type_uri.into();
        self
    }

    /// Sets the URI of this occurrence.
    #[must_use]
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.inner.body.instance = Some(instance.into());
        self
    }

    /// Adds an extension member to the body.
    #[must_use]
    pub fn with_extension(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.inner.body.extensions.insert(key.into(), value.into());
        self
    }

    /// Adds a response header such as `Retry-After` or `WWW-Authenticate`.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.inner.headers.append(name, value);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The detail, if any.
    pub fn detail(&self) -> Option<&str> {
        self.inner.body.detail.as_deref()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.inner.status.as_u16(),
            self.inner.body.title
        )?;
        if let Some(detail) = &self.inner.body.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let Inner {
            status,
            body,
            headers,
        } = *self.inner;
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response.headers_mut().extend(headers);
        response
    }
}

impl From<sqlx::Error> for Problem {
    /// Not found is 404; a constraint violation is 409 (unique) or 422 (foreign key, check,
    /// not null) on every backend; an unavailable database
    /// ([`is_unavailable`](crate::db::is_unavailable): unreachable, dropped connections,
    /// refused credentials, an exhausted pool) is 503 with `Retry-After: 1` and makes the
    /// service check the database (and fetch refused credentials again); anything else is an
    /// opaque, logged 500.
    fn from(error: sqlx::Error) -> Self {
        if matches!(error, sqlx::Error::RowNotFound) {
            return Self::not_found("The requested resource does not exist.");
        }
        if let Some(problem) = constraint_violation(&error) {
            return problem;
        }
        if !crate::db::is_unavailable(&error) {
            return Self::internal(&error);
        }
        let known_down = crate::db::report_request_error(&error);
        let detail = if matches!(error, sqlx::Error::PoolTimedOut) && !known_down {
            metrics::counter!(crate::telemetry::catalog::DB_POOL_ACQUIRE_TIMEOUTS_TOTAL)
                .increment(1);
            tracing::warn!("database pool exhausted: no connection within acquire_timeout");
            "The database is busy; retry shortly."
        } else {
            tracing::warn!(%error, "database unavailable");
            "The database is unreachable; retry shortly."
        };
        Self::unavailable(detail).with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    }
}

/// 409 for a unique violation, 422 for a foreign key, check or not-null violation. The detail
/// is generic: constraint and column names describe the schema, not the request.
fn constraint_violation(error: &sqlx::Error) -> Option<Problem> {
    use sqlx::error::ErrorKind;
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    let problem = match db.kind() {
        ErrorKind::UniqueViolation => {
            Problem::conflict("A resource with these unique values already exists.")
        }
        ErrorKind::ForeignKeyViolation => Problem::new(StatusCode::UNPROCESSABLE_ENTITY)
            .with_detail("The request refers to a resource that does not exist, or removes one that others still refer to."),
        ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY)
                .with_detail("The request's values break a rule of the stored data.")
        }
        _ => return None,
    };
    tracing::debug!(%error, constraint = db.constraint(), status = %problem.status(), "constraint violation");
    Some(problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(p: Problem) -> (StatusCode, HeaderMap, Value) {
        let response = p.into_response();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn serializes_as_rfc9457() {
        let (status, headers, body) = body_of(
            Problem::conflict("email taken")
                .with_instance("/students")
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("3")),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(headers[header::RETRY_AFTER], "3");
        assert_eq!(
            body,
            serde_json::json!({
                "type": "about:blank", "title": "Conflict", "status": 409,
                "detail": "email taken", "instance": "/students"
            })
        );
    }

    #[tokio::test]
    async fn validation_lists_fields() {
        let (_, _, body) = body_of(Problem::validation([("name", "must not be empty")])).await;
        assert_eq!(body["errors"][0]["field"], "name");
        assert_eq!(body["detail"], "name: must not be empty");
    }

    #[tokio::test]
    async fn internal_hides_the_cause() {
        let err = std::io::Error::other("secret path /etc/x");
        let (status, _, body) = body_of(Problem::internal(&err)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("/etc/x"));
    }

    #[tokio::test]
    async fn sqlx_errors_map_to_statuses() {
        assert_eq!(
            Problem::from(sqlx::Error::RowNotFound).status(),
            StatusCode::NOT_FOUND
        );
        let p = Problem::from(sqlx::Error::PoolTimedOut);
        assert_eq!(p.status(), StatusCode::SERVICE_UNAVAILABLE);
        let p = Problem::from(sqlx::Error::Protocol(
            "unexpected response from SSLRequest: 0x00".into(),
        ));
        assert_eq!(p.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            p.detail(),
            Some("The database is unreachable; retry shortly.")
        );
        let (_, headers, _) = body_of(p).await;
        assert_eq!(headers[header::RETRY_AFTER], "1");
    }
}
