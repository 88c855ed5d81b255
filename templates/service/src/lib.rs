//! {{project-name}}: a servicekit service with one sample resource, `/items`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
{% if auth %}use servicekit::auth::require_scope;
{% endif %}use servicekit::db::{Database, Migrations};
use servicekit::{BoxError, Context, Json, Problem, Service, ServiceBuilder};
use sqlx::Row;

/// The service's name.
pub const NAME: &str = "{{project-name}}";

/// Migrations for SQLite, PostgreSQL and MySQL/MariaDB, embedded from `migrations/`.
pub static MIGRATIONS: Migrations = servicekit::embed_migrations!("migrations");

/// An item as stored and returned.
#[derive(Debug, Serialize)]
pub struct Item {
    /// UUID v7.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// The body of `POST /items`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// Display name, not empty.
    pub name: String,
}

async fn create(
    State(db): State<Database>,
    Json(input): Json<NewItem>,
) -> Result<(StatusCode, Json<Item>), Problem> {
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(Problem::validation([("name", "must not be empty")]));
    }
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(db.sql("INSERT INTO items (id, name) VALUES ($1, $2)"))
        .bind(&id)
        .bind(&name)
        .execute(db.pool())
        .await?;
    Ok((StatusCode::CREATED, Json(Item { id, name })))
}

async fn get_item(
    State(db): State<Database>,
    Path(id): Path<String>,
) -> Result<Json<Item>, Problem> {
    let row = sqlx::query(db.sql("SELECT id, name FROM items WHERE id = $1"))
        .bind(&id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Problem::not_found(format!("item {id} does not exist")))?;
    Ok(Json(Item {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
    }))
}

/// Builds the routes once the database is migrated.
pub async fn app(ctx: Context) -> Result<Router, BoxError> {
    let db = ctx.db()?;
    let reads = Router::new().route("/items/{id}", get(get_item));
    let writes = Router::new().route("/items", post(create));
{% if auth %}    let reads = reads.route_layer(require_scope("items:read"));
    let writes = writes.route_layer(require_scope("items:write"));
    Ok(reads.merge(writes).with_state(db).layer(ctx.auth()))
{% else %}    Ok(reads.merge(writes).with_state(db))
{% endif %}}

/// The whole service as a builder: what `main` runs and what the tests start.
pub fn service() -> ServiceBuilder {
    Service::builder(NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .migrations(&MIGRATIONS)
        .routes(app)
}
