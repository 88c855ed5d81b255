//! Spawning student-service on port 0 against a fresh database of each backend, trusting a
//! fresh `TestIssuer`, with a client that sends a real token.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::SecretString;
use servicekit::ServiceBuilder;
use servicekit::db::{Database, DatabaseConfig};
use servicekit::testing::{TestApp, TestDatabase, TestIssuer};

/// The backends every test runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

/// A running student-service, the database it owns (dropped with it) and its token issuer.
pub(crate) struct Spawned {
    pub(crate) app: TestApp,
    pub(crate) db: Option<TestDatabase>,
    /// The service's `database.url`, for tests that read its tables.
    pub(crate) db_url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    pub(crate) issuer: TestIssuer,
    /// Sends a token with `students:read students:write`.
    client: reqwest::Client,
    /// The token `client` sends.
    token: String,
}

impl Spawned {
    /// A pool of its own on the service's database.
    pub(crate) async fn database(&self) -> Database {
        let config = DatabaseConfig {
            url: Some(SecretString::from(self.db_url.as_str())),
            ..Default::default()
        };
        Database::connect(&config, student_service::NAME)
            .await
            .expect("the test database accepts a second pool")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// A client whose requests carry a token granting read and write.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `GET path` with a token granting read and write.
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.app.bearer(&self.token).get(path).await
    }

    /// `DELETE path` with a token granting read and write.
    pub(crate) async fn delete(&self, path: &str) -> reqwest::Response {
        self.app.bearer(&self.token).delete(path).await
    }

    /// `POST path` with a JSON body and a token granting read and write.
    pub(crate) async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.app.bearer(&self.token).post_json(path, body).await
    }

    /// `PUT path` with a JSON body and a token granting read and write.
    pub(crate) async fn put_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.app.bearer(&self.token).put_json(path, body).await
    }

    /// A client that sends no token.
    pub(crate) fn anonymous(&self) -> &reqwest::Client {
        self.app.client()
    }

    /// A token from the service's issuer with `scope` (space-delimited).
    pub(crate) fn token(&self, scope: &str) -> String {
        bearer_token(&self.issuer, scope)
    }

    /// POSTs a student and returns the response.
    pub(crate) async fn create(&self, name: &str, email: &str) -> reqwest::Response {
        self.post_json(
            "/students",
            &serde_json::json!({ "name": name, "email": email }),
        )
        .await
    }
}

/// A real signed RS256 token from `issuer` granting `scope`.
pub(crate) fn bearer_token(issuer: &TestIssuer, scope: &str) -> String {
    issuer.token().subject("test-teacher").scope(scope).sign()
}

/// A client sending `Authorization: Bearer <token>` on every request.
fn client_with(token: &str) -> reqwest::Client {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).expect("header-safe token");
    value.set_sensitive(true);
    let headers = HeaderMap::from_iter([(AUTHORIZATION, value)]);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client builds")
}

/// Starts student-service on `backend`, trusting a new `TestIssuer`, with extra configuration
/// applied by `configure` (which may override `auth`).
pub(crate) async fn spawn_with(
    backend: Backend,
    configure: impl FnOnce(ServiceBuilder) -> ServiceBuilder,
) -> Spawned {
    let db = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDatabase::postgres().await.expect("test PostgreSQL")),
        Backend::MySql => Some(TestDatabase::mysql().await.expect("test MariaDB/MySQL")),
    };
    // SQLite in a file of the test's own, so that a test can open it too.
    let sqlite_dir = db
        .is_none()
        .then(|| tempfile::tempdir().expect("a temporary folder"));
    let db_url = match (&db, &sqlite_dir) {
        (Some(db), _) => db.url().to_string(),
        (None, Some(dir)) => format!("sqlite://{}", dir.path().join("students.db").display()),
        (None, None) => unreachable!("one of the two is set"),
    };
    let issuer = TestIssuer::start().await;
    let builder = configure(
        student_service::service()
            .set("auth", issuer.auth_config())
            .set("database.url", db_url.as_str()),
    );
    let app = TestApp::spawn(builder)
        .await
        .expect("student-service starts");
    let token = bearer_token(&issuer, "students:read students:write");
    let client = client_with(&token);
    Spawned {
        app,
        db,
        db_url,
        _sqlite_dir: sqlite_dir,
        issuer,
        client,
        token,
    }
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
