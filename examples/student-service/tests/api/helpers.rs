//! Spawning student-service on port 0 against a fresh database of each backend.

use servicekit::ServiceBuilder;
use servicekit::testing::{TestApp, TestDatabase};

/// The backends every test runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

/// A running student-service and the database it owns (dropped with it).
pub(crate) struct Spawned {
    pub(crate) app: TestApp,
    pub(crate) db: Option<TestDatabase>,
}

impl Spawned {
    pub(crate) fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        self.app.client()
    }

    /// POSTs a student and returns the response.
    pub(crate) async fn create(&self, name: &str, email: &str) -> reqwest::Response {
        self.client()
            .post(self.url("/students"))
            .json(&serde_json::json!({ "name": name, "email": email }))
            .send()
            .await
            .expect("request failed")
    }
}

/// Starts student-service on `backend` with extra configuration applied by `configure`.
pub(crate) async fn spawn_with(
    backend: Backend,
    configure: impl FnOnce(ServiceBuilder) -> ServiceBuilder,
) -> Spawned {
    let db = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDatabase::postgres().await.expect("test PostgreSQL")),
        Backend::MySql => Some(TestDatabase::mysql().await.expect("test MariaDB/MySQL")),
    };
    let mut builder = configure(student_service::service());
    if let Some(db) = &db {
        builder = builder.set("database.url", db.url());
    }
    let app = TestApp::spawn(builder)
        .await
        .expect("student-service starts");
    Spawned { app, db }
}

/// Starts student-service on `backend`.
pub(crate) async fn spawn(backend: Backend) -> Spawned {
    spawn_with(backend, |b| b).await
}

/// Reads a problem+json body, checking the media type.
pub(crate) async fn problem(res: reqwest::Response) -> serde_json::Value {
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "error responses are problem+json"
    );
    res.json().await.expect("problem body is JSON")
}

/// Defines `mod $name { sqlite, postgres, mysql }` tests calling `$name(Backend)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::helpers::Backend;
            #[tokio::test]
            async fn sqlite() { super::$name(Backend::Sqlite).await }
            #[tokio::test]
            async fn postgres() { super::$name(Backend::Postgres).await }
            #[tokio::test]
            async fn mysql() { super::$name(Backend::MySql).await }
        }
    )*};
}
