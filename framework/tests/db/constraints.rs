//! Constraint violations are problems the client can act on, on every backend and through both
//! pools: 409 for a duplicate, 422 for a missing reference or a broken check.

use axum::http::StatusCode;
use servicekit::Problem;
use servicekit::db::Database;
use servicekit::testing::TestDatabase;

use crate::{config, on_every_backend};

const SCHEMA: [&str; 2] = [
    "CREATE TABLE students (id BIGINT PRIMARY KEY, age BIGINT NOT NULL CHECK (age >= 0))",
    "CREATE TABLE enrolments (student_id BIGINT NOT NULL REFERENCES students (id))",
];

/// The status of the problem `sql` (binding `values`) turns into.
async fn status_of(db: &Database, sql: &'static str, values: &[i64]) -> StatusCode {
    let mut query = sqlx::query(db.sql(sql));
    for value in values {
        query = query.bind(*value);
    }
    let error = query.execute(db.pool()).await.unwrap_err();
    Problem::from(error).status()
}

async fn check(db: Database) {
    for statement in SCHEMA {
        sqlx::query(statement).execute(db.pool()).await.unwrap();
    }
    let insert_student = "INSERT INTO students (id, age) VALUES ($1, $2)";
    sqlx::query(db.sql(insert_student))
        .bind(1_i64)
        .bind(20_i64)
        .execute(db.pool())
        .await
        .unwrap();
    let kind = db.kind();
    assert_eq!(
        status_of(&db, insert_student, &[1, 30]).await,
        StatusCode::CONFLICT,
        "{kind}: unique"
    );
    assert_eq!(
        status_of(&db, insert_student, &[2, -1]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{kind}: check"
    );
    assert_eq!(
        status_of(
            &db,
            "INSERT INTO enrolments (student_id) VALUES ($1)",
            &[99]
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{kind}: foreign key"
    );
    db.close().await;
}

#[tokio::test]
async fn portable_pool_maps_violations_on_every_backend() {
    on_every_backend(check).await;
}

#[tokio::test]
async fn typed_pools_map_violations_too() {
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let db = Database::<sqlx::Postgres>::open(&config(pg.url()), "svc")
        .await
        .unwrap();
    sqlx::query(SCHEMA[0]).execute(db.pool()).await.unwrap();
    let error = sqlx::query("INSERT INTO students (id, age) VALUES (1, -1)")
        .execute(db.pool())
        .await
        .unwrap_err();
    assert_eq!(
        Problem::from(error).status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let my = TestDatabase::mysql().await.expect("test MariaDB");
    let db = Database::<sqlx::MySql>::open(&config(my.url()), "svc")
        .await
        .unwrap();
    sqlx::query(SCHEMA[0]).execute(db.pool()).await.unwrap();
    let insert = "INSERT INTO students (id, age) VALUES (1, 1)";
    sqlx::query(insert).execute(db.pool()).await.unwrap();
    let error = sqlx::query(insert).execute(db.pool()).await.unwrap_err();
    assert_eq!(Problem::from(error).status(), StatusCode::CONFLICT);

    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("c.db").display());
    let db = Database::<sqlx::Sqlite>::open(&config(&sqlite), "svc")
        .await
        .unwrap();
    sqlx::query(SCHEMA[0]).execute(db.pool()).await.unwrap();
    sqlx::query(SCHEMA[1]).execute(db.pool()).await.unwrap();
    let error = sqlx::query("INSERT INTO enrolments (student_id) VALUES (7)")
        .execute(db.pool())
        .await
        .unwrap_err();
    assert_eq!(
        Problem::from(error).status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
