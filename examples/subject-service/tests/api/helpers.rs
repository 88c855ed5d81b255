//! Spawning subject-service on port 0 against a fresh database of each backend, with a
//! student-service of its own.

use secrecy::SecretString;
use serde_json::Value;
use servicekit::ServiceBuilder;
use servicekit::db::{Database, DatabaseConfig};
use servicekit::testing::{TestApp, TestDatabase};

/// The backends every test runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

/// A running subject-service, the student-service it calls, and its database.
pub(crate) struct Spawned {
    pub(crate) app: TestApp,
    pub(crate) students: Option<TestApp>,
    /// subject-service's `database.url`, for tests that call `repo` directly.
    pub(crate) db_url: String,
    pub(crate) _db: Option<TestDatabase>,
    pub(crate) _sqlite_dir: Option<tempfile::TempDir>,
}

impl Spawned {
    /// A pool of its own on subject-service's database.
    pub(crate) async fn database(&self) -> Database {
        let config = DatabaseConfig {
            url: Some(SecretString::from(self.db_url.as_str())),
            ..Default::default()
        };
        Database::connect(&config, subject_service::NAME)
            .await
            .expect("the test database accepts a second pool")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        self.app.client()
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.app.get(path).await
    }

    /// `DELETE path`.
    pub(crate) async fn delete(&self, path: &str) -> reqwest::Response {
        self.app.delete(path).await
    }

    /// `POST path` with a JSON body.
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.app.post_json(path, body).await
    }

    /// `PUT path` with a JSON body.
    pub(crate) async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.app.put_json(path, body).await
    }

    /// POSTs a subject and returns the response.
    pub(crate) async fn create(&self, code: &str, title: &str, credits: i64) -> reqwest::Response {
        self.post_json(
            "/subjects",
            &serde_json::json!({ "code": code, "title": title, "credits": credits }),
        )
        .await
    }

    /// Creates a subject and returns its id.
    pub(crate) async fn subject(&self, code: &str) -> String {
        let res = self.create(code, "A subject", 5).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        body["id"].as_str().unwrap().to_string()
    }

    /// Creates a student in student-service and returns its id.
    pub(crate) async fn student(&self, email: &str) -> String {
        let students = self.students.as_ref().expect("student-service runs");
        let res = students
            .post_json(
                "/students",
                &serde_json::json!({ "name": "A student", "email": email }),
            )
            .await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        body["id"].as_str().unwrap().to_string()
    }

    /// POSTs an enrolment.
    pub(crate) async fn enrol(&self, subject: &str, student: &str) -> reqwest::Response {
        self.post_json(
            &format!("/subjects/{subject}/enrolments"),
            &serde_json::json!({ "student_id": student }),
        )
        .await
    }
}

/// Starts student-service (SQLite) and subject-service on `backend` pointing at it, with extra
/// configuration applied to subject-service by `configure`.
pub(crate) async fn spawn_with(
    backend: Backend,
    configure: impl FnOnce(ServiceBuilder) -> ServiceBuilder,
) -> Spawned {
    let students = TestApp::spawn(student_service::service())
        .await
        .expect("student-service starts");
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
        (None, Some(dir)) => format!("sqlite://{}", dir.path().join("subjects.db").display()),
        (None, None) => unreachable!("one of the two is set"),
    };
    let builder = configure(
        subject_service::service()
            .set("clients.student-service.base_url", students.base_url())
            .set("database.url", db_url.as_str()),
    );
    let app = TestApp::spawn(builder)
        .await
        .expect("subject-service starts");
    Spawned {
        app,
        students: Some(students),
        db_url,
        _db: db,
        _sqlite_dir: sqlite_dir,
    }
}

/// Starts subject-service on `backend`, with a student-service.
pub(crate) async fn spawn(backend: Backend) -> Spawned {
    spawn_with(backend, |b| b).await
}

/// Reads a problem+json body, checking the media type.
pub(crate) async fn problem(res: reqwest::Response) -> Value {
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
