//! What servicekit adds to a service's document: identity, the problem schema and responses,
//! the bearer scheme and its 401/403 answers.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::ComponentsBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::server::{PROBLEM_JSON, Problem};

/// Name of the security scheme for servicekit's bearer JWTs, for `security(("bearer" = [..]))`.
pub const BEARER: &str = "bearer";

const PROBLEM_RESPONSE: &str = "Problem";
const UNAUTHORIZED_RESPONSE: &str = "Unauthorized";
const FORBIDDEN_RESPONSE: &str = "Forbidden";

/// Completes a service's document with what every servicekit route shares (see the
/// [module docs](super)): `title` and `version`, the `Problem` schema, a problem `default`
/// response on each operation, the [`BEARER`] scheme and `401`/`403` on secured operations.
/// Responses the document already declares are kept as they are.
pub fn complete(mut spec: OpenApi, title: &str, version: &str) -> OpenApi {
    title.clone_into(&mut spec.info.title);
    version.clone_into(&mut spec.info.version);

    let mut uses_bearer = false;
    for item in spec.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            uses_bearer |= complete_operation(operation);
        }
    }

    let mut components = spec.components.take().unwrap_or_default();
    let mut schemas = vec![(Problem::name().into_owned(), Problem::schema())];
    Problem::schemas(&mut schemas);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    let mut builder = ComponentsBuilder::from(components)
        .response(PROBLEM_RESPONSE, problem_response("An error, as RFC 9457 problem details."))
        .response(
            UNAUTHORIZED_RESPONSE,
            challenge(problem_response(
                "The bearer token is missing, malformed, expired or not signed by a trusted issuer.",
            )),
        )
        .response(
            FORBIDDEN_RESPONSE,
            challenge(problem_response(
                "The bearer token is valid but lacks a scope or role this operation needs.",
            )),
        );
    if uses_bearer {
        builder = builder.security_scheme(BEARER, bearer_scheme());
    }
    spec.components = Some(builder.build());
    spec
}

/// Adds the shared responses to one operation; true when it is secured by [`BEARER`].
fn complete_operation(operation: &mut Operation) -> bool {
    let responses = &mut operation.responses.responses;
    responses
        .entry("default".into())
        .or_insert_with(|| Ref::from_response_name(PROBLEM_RESPONSE).into());
    let secured = operation
        .security
        .iter()
        .flatten()
        .any(|requirement| requirement != &SecurityRequirement::default());
    if secured {
        responses
            .entry("401".into())
            .or_insert_with(|| Ref::from_response_name(UNAUTHORIZED_RESPONSE).into());
        responses
            .entry("403".into())
            .or_insert_with(|| Ref::from_response_name(FORBIDDEN_RESPONSE).into());
    }
    secured
}

fn problem_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(Problem::name())))
            .build(),
    )
}

/// A 401/403 also carries the RFC 6750 challenge.
fn challenge(response: ResponseBuilder) -> RefOr<Response> {
    response
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(String::schema()))
                .description(Some(
                    "The RFC 6750 challenge, e.g. `Bearer error=\"invalid_token\"`.",
                ))
                .build(),
        )
        .build()
        .into()
}

fn bearer_scheme() -> SecurityScheme {
    let mut http = Http::new(HttpAuthScheme::Bearer);
    http.bearer_format = Some("JWT".into());
    http.description = Some(
        "An OAuth 2.0 access token (JWT) from a configured issuer; each operation lists the \
         scopes it needs."
            .into(),
    );
    SecurityScheme::Http(http)
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use serde_json::{Value, json};
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::{InfoBuilder, PathsBuilder};

    use super::*;

    fn spec(operation: Operation) -> OpenApi {
        OpenApi::new(
            InfoBuilder::new().title("x").version("0").build(),
            PathsBuilder::new().path("/things", PathItem::new(HttpMethod::Get, operation)),
        )
    }

    fn json(spec: OpenApi) -> Value {
        serde_json::to_value(complete(spec, "thing-service", "1.2.3")).unwrap()
    }

    #[test]
    fn secured_operations_get_401_403_and_the_bearer_scheme() {
        let op = OperationBuilder::new()
            .security(SecurityRequirement::new(BEARER, ["things:read"]))
            .build();
        let doc = json(spec(op));
        assert_eq!(doc["info"]["title"], "thing-service");
        assert_eq!(doc["info"]["version"], "1.2.3");
        let responses = &doc["paths"]["/things"]["get"]["responses"];
        assert_eq!(
            responses["401"]["$ref"],
            "#/components/responses/Unauthorized"
        );
        assert_eq!(responses["403"]["$ref"], "#/components/responses/Forbidden");
        assert_eq!(
            responses["default"]["$ref"],
            "#/components/responses/Problem"
        );
        assert_eq!(
            doc["components"]["securitySchemes"][BEARER],
            json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": doc["components"]["securitySchemes"][BEARER]["description"]})
        );
        assert!(
            doc["components"]["responses"]["Unauthorized"]["headers"]["WWW-Authenticate"]
                .is_object()
        );
    }

    #[test]
    fn open_operations_get_only_the_problem_default() {
        let doc = json(spec(OperationBuilder::new().build()));
        let responses = &doc["paths"]["/things"]["get"]["responses"];
        assert!(responses.get("401").is_none());
        assert!(responses["default"].is_object());
        assert!(doc["components"].get("securitySchemes").is_none());
    }

    #[tokio::test]
    async fn the_problem_schema_matches_what_problem_serializes() {
        let doc = json(spec(OperationBuilder::new().build()));
        let schema = &doc["components"]["schemas"]["Problem"];
        assert_eq!(schema["type"], "object");
        for field in ["type", "title", "status"] {
            assert!(
                schema["required"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(field)),
                "{field} required: {schema}"
            );
        }
        let response = Problem::validation([("email", "must contain @")]).into_response();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        for key in body.as_object().unwrap().keys() {
            assert!(
                schema["properties"].get(key).is_some(),
                "{key} not documented"
            );
        }
        assert_eq!(
            schema["properties"]["errors"]["items"]["$ref"],
            "#/components/schemas/FieldError"
        );
        assert!(doc["components"]["schemas"]["FieldError"].is_object());
        assert_eq!(
            doc["components"]["responses"]["Problem"]["content"][PROBLEM_JSON]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }

    #[test]
    fn declared_responses_are_kept() {
        let op = OperationBuilder::new()
            .response("default", ResponseBuilder::new().description("mine"))
            .build();
        let doc = json(spec(op));
        assert_eq!(
            doc["paths"]["/things"]["get"]["responses"]["default"]["description"],
            "mine"
        );
    }
}
