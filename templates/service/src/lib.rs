//! {{project-name}}: a servicekit service with one sample resource, `/items`{% if database != "sqlite" %}, on the
//! typed {{database}} pool with compile-time checked queries (offline data in `.sqlx/`){% endif %}.{% if events %}
//!
//! Each new item is announced by the event [`ItemCreated`], staged in the outbox in the
//! transaction that inserts the item and published (at least once) once it commits.{% endif %}

{% if events %}use axum::Extension;
{% endif %}use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
{% if auth %}use servicekit::auth::require_scope;
{% endif %}use servicekit::db::{Database, Migrations};
{% if events %}use servicekit::events::{Event, Events};
{% endif %}use servicekit::{BoxError, Context, Json, Problem, Service, ServiceBuilder};
{% if database == "sqlite" %}use sqlx::Row;
{% else %}use time::OffsetDateTime;
use uuid::Uuid;
{% endif %}
/// The service's name.
pub const NAME: &str = "{{project-name}}";

{% if database == "sqlite" %}/// Migrations for SQLite, PostgreSQL and MySQL/MariaDB, embedded from `migrations/`.
pub static MIGRATIONS: Migrations = servicekit::embed_migrations!("migrations");

/// The portable pool: SQLite by default, PostgreSQL or MySQL/MariaDB by `DATABASE_URL`.
type Db = Database;

/// An item as stored and returned.
#[derive(Debug, Serialize)]
pub struct Item {
    /// UUID v7.
    pub id: String,
    /// Display name.
    pub name: String,
}
{% else %}/// Migrations embedded from `migrations/{{database}}/`.
pub static MIGRATIONS: Migrations = servicekit::embed_migrations!("migrations");

/// The typed pool (`db.pool()` is sqlx's {% if database == "postgres" %}`PgPool`{% else %}`MySqlPool`{% endif %}); `database.url` must name {{database}}.
type Db = Database<{% if database == "postgres" %}sqlx::Postgres{% else %}sqlx::MySql{% endif %}>;

/// An item as stored and returned.
#[derive(Debug, Serialize)]
pub struct Item {
    /// UUID v7 ({% if database == "postgres" %}a `UUID` column{% else %}a `BINARY(16)` column{% endif %}).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// When the item was created ({% if database == "postgres" %}`TIMESTAMPTZ`{% else %}`TIMESTAMP(6)`, UTC{% endif %}), RFC 3339 in JSON.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
{% endif %}
/// The body of `POST /items`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// Display name, not empty.
    pub name: String,
}
{% if events %}
/// The service's events, on the same pool as [`Db`].
type DbEvents = Events{% if database == "postgres" %}<sqlx::Postgres>{% elsif database == "mysql" %}<sqlx::MySql>{% endif %};

/// `item.created`: an item was created. Another service consumes it with
/// `ctx.events()?.on::<ItemCreated, _>("{{project-name}}", handler)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemCreated {
    /// The new item's id.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl Event for ItemCreated {
    const TYPE: &'static str = "item.created";

    /// Events of one item are delivered in order.
    fn key(&self) -> String {
        self.id.clone()
    }
}
{% endif %}
async fn create(
    State(db): State<Db>,
{% if events %}    Extension(events): Extension<DbEvents>,
{% endif %}    Json(input): Json<NewItem>,
) -> Result<(StatusCode, Json<Item>), Problem> {
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(Problem::validation([("name", "must not be empty")]));
    }
{% if database == "postgres" and events %}    // The item and its event commit together, or neither does.
    let item = db
        .transaction(|tx| {
            Box::pin(async move {
                let item = sqlx::query_as!(
                    Item,
                    "INSERT INTO items (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
                    Uuid::now_v7(),
                    name,
                )
                .fetch_one(&mut **tx)
                .await?;
                let event = ItemCreated {
                    id: item.id.to_string(),
                    name: item.name.clone(),
                };
                events.stage(tx, &event).await?;
                Ok::<_, Problem>(item)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(item)))
{% elsif database == "postgres" %}    let item = sqlx::query_as!(
        Item,
        "INSERT INTO items (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
        Uuid::now_v7(),
        name,
    )
    .fetch_one(db.pool())
    .await?;
    Ok((StatusCode::CREATED, Json(item)))
{% elsif database == "mysql" and events %}    let id = Uuid::now_v7();
    let event = ItemCreated {
        id: id.to_string(),
        name: name.clone(),
    };
    // The item and its event commit together, or neither does.
    db.transaction(|tx| {
        Box::pin(async move {
            sqlx::query!("INSERT INTO items (id, name) VALUES (?, ?)", id, name)
                .execute(&mut **tx)
                .await?;
            events.stage(tx, &event).await?;
            Ok::<_, Problem>(())
        })
    })
    .await?;
    let item = find(&db, id).await?.ok_or(sqlx::Error::RowNotFound)?;
    Ok((StatusCode::CREATED, Json(item)))
{% elsif database == "mysql" %}    let id = Uuid::now_v7();
    sqlx::query!("INSERT INTO items (id, name) VALUES (?, ?)", id, name)
        .execute(db.pool())
        .await?;
    let item = find(&db, id).await?.ok_or(sqlx::Error::RowNotFound)?;
    Ok((StatusCode::CREATED, Json(item)))
{% elsif events %}    let item = Item {
        id: uuid::Uuid::now_v7().to_string(),
        name,
    };
    let event = ItemCreated {
        id: item.id.clone(),
        name: item.name.clone(),
    };
    let insert = db.sql("INSERT INTO items (id, name) VALUES ($1, $2)");
    // The item and its event commit together, or neither does.
    db.transaction(|tx| {
        Box::pin(async move {
            sqlx::query(insert)
                .bind(&event.id)
                .bind(&event.name)
                .execute(&mut **tx)
                .await?;
            events.stage(tx, &event).await?;
            Ok::<_, Problem>(())
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(item)))
{% else %}    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(db.sql("INSERT INTO items (id, name) VALUES ($1, $2)"))
        .bind(&id)
        .bind(&name)
        .execute(db.pool())
        .await?;
    Ok((StatusCode::CREATED, Json(Item { id, name })))
{% endif %}}

async fn get_item(State(db): State<Db>, Path(id): Path<String>) -> Result<Json<Item>, Problem> {
    let missing = || Problem::not_found(format!("item {id} does not exist"));
{% if database == "sqlite" %}    let row = sqlx::query(db.sql("SELECT id, name FROM items WHERE id = $1"))
        .bind(&id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(missing)?;
    Ok(Json(Item {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
    }))
}
{% else %}    let uuid = Uuid::parse_str(&id).map_err(|_| missing())?;
    Ok(Json(find(&db, uuid).await?.ok_or_else(missing)?))
}

/// The item with this id, if any.
async fn find(db: &Db, id: Uuid) -> Result<Option<Item>, sqlx::Error> {
{% if database == "postgres" %}    sqlx::query_as!(
        Item,
        "SELECT id, name, created_at FROM items WHERE id = $1",
        id
    )
{% else %}    // MySQL has no UUID type: `id: Uuid` tells the macro how to decode the BINARY(16) column.
    sqlx::query_as!(
        Item,
        "SELECT id AS `id: Uuid`, name, created_at AS `created_at: OffsetDateTime` FROM items WHERE id = ?",
        id
    )
{% endif %}    .fetch_optional(db.pool())
    .await
}
{% endif %}
/// Builds the routes once the database is migrated.
pub async fn app(ctx: Context) -> Result<Router, BoxError> {
    let db: Db = {% if database == "postgres" %}ctx.db_as::<sqlx::Postgres>()?{% elsif database == "mysql" %}ctx.db_as::<sqlx::MySql>()?{% else %}ctx.db()?{% endif %};
{% if events %}    let events: DbEvents = {% if database == "postgres" %}ctx.events_as::<sqlx::Postgres>()?{% elsif database == "mysql" %}ctx.events_as::<sqlx::MySql>()?{% else %}ctx.events()?{% endif %};
{% endif %}    let reads = Router::new().route("/items/{id}", get(get_item));
    let writes = Router::new().route("/items", post(create));
{% if events %}    let writes = writes.layer(Extension(events));
{% endif %}{% if auth %}    let reads = reads.route_layer(require_scope("items:read"));
    let writes = writes.route_layer(require_scope("items:write"));
    Ok(reads.merge(writes).with_state(db).layer(ctx.auth()))
{% else %}    Ok(reads.merge(writes).with_state(db))
{% endif %}}

/// The whole service as a builder: what `main` runs and what the tests start.
pub fn service() -> ServiceBuilder {
    Service::builder(NAME)
        .version(env!("CARGO_PKG_VERSION"))
{% if database == "postgres" %}        .database::<sqlx::Postgres>()
{% elsif database == "mysql" %}        .database::<sqlx::MySql>()
{% endif %}        .migrations(&MIGRATIONS)
        .routes(app)
}
