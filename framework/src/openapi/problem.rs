//! [`Problem`] as an OpenAPI schema, so operations can name it: `body = servicekit::Problem`.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use crate::server::{FieldError, Problem};

/// The documented shape of a problem body; [`Problem`] keeps its fields private and builds
/// them with constructors, so the schema is written out here once.
#[derive(ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)] // Only read by the derive.
struct ProblemBody {
    /// A URI reference naming the problem type; `about:blank` when the status says it all.
    #[schema(rename = "type", example = "about:blank")]
    type_: String,
    /// A short summary of the problem type, e.g. `Not Found`.
    #[schema(example = "Not Found")]
    title: String,
    /// The HTTP status code, repeated for clients that only see the body.
    #[schema(example = 404)]
    status: u16,
    /// What went wrong with this request, for humans.
    #[schema(nullable = false)]
    detail: Option<String>,
    /// A URI reference identifying this occurrence.
    #[schema(nullable = false)]
    instance: Option<String>,
    /// The invalid fields of a `422 Unprocessable Content` answer.
    #[schema(nullable = false)]
    errors: Option<Vec<FieldError>>,
}

impl PartialSchema for Problem {
    fn schema() -> RefOr<Schema> {
        ProblemBody::schema()
    }
}

impl ToSchema for Problem {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Problem")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((FieldError::name().into_owned(), FieldError::schema()));
    }
}
