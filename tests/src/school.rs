//! The example services' API over HTTP: students on student-service, subjects and enrolments
//! on subject-service.
//!
//! Many end-to-end tests need a student, a subject and an enrolment before they can check what
//! they are about (a trace, a metric, a client setting); [`SchoolClient`] makes each of those
//! one line, so a test reads as its scenario.

use serde_json::{Value, json};

/// Requests to one running example service (a [`ServiceProcess`](crate::ServiceProcess) or a
/// `TestApp`), by its base URL, optionally with a bearer token on every request.
///
/// ```no_run
/// # async fn t(students: &servicekit_tests::ServiceProcess, subjects: &servicekit_tests::ServiceProcess) {
/// let (students, subjects) = (students.api(), subjects.api());
/// let student = students.create_student("Ada", "ada@example.org").await;
/// let subject = subjects.create_subject("CS-101", "Programming").await;
/// assert_eq!(subjects.enrol(&subject, &student).await.status(), 201);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SchoolClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl SchoolClient {
    /// A client of the service at `base_url` (`http://127.0.0.1:PORT`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_client(reqwest::Client::new(), base_url)
    }

    /// As [`new`](Self::new), sending through `http` (e.g. one with a timeout).
    pub fn with_client(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self {
            http,
            base: base_url.into(),
            token: None,
        }
    }

    /// The same client with `Authorization: Bearer <token>` on every request.
    #[must_use]
    pub fn bearer(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// `POST path` with `body` as JSON, not yet sent (add headers, then `send`).
    pub fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        let request = self.http.post(format!("{}{path}", self.base)).json(body);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `POST path` with `body`, expecting 201; returns the new resource's `id`.
    pub async fn create(&self, path: &str, body: &Value) -> String {
        let res = self.post(path, body).send().await.unwrap_or_else(|e| {
            panic!("POST {}{path}: no response ({e})", self.base);
        });
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(status, 201, "POST {}{path}: {text}", self.base);
        let created: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("POST {}{path}: not JSON ({e}): {text}", self.base));
        created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("POST {}{path}: no id in {created}", self.base))
            .to_owned()
    }

    /// Creates a student on student-service; returns its id.
    pub async fn create_student(&self, name: &str, email: &str) -> String {
        self.create("/students", &json!({"name": name, "email": email}))
            .await
    }

    /// Creates `n` students with unique emails on student-service; returns their ids.
    pub async fn create_students(&self, n: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let email = format!("s{i}-{}@example.org", uuid::Uuid::new_v4().simple());
            ids.push(self.create_student(&format!("Student {i}"), &email).await);
        }
        ids
    }

    /// Creates a subject worth 6 credits on subject-service; returns its id.
    pub async fn create_subject(&self, code: &str, title: &str) -> String {
        self.create(
            "/subjects",
            &json!({"code": code, "title": title, "credits": 6}),
        )
        .await
    }

    /// The enrolment of `student` in `subject` on subject-service, not yet sent.
    pub fn enrolment(&self, subject: &str, student: &str) -> reqwest::RequestBuilder {
        self.post(
            &format!("/subjects/{subject}/enrolments"),
            &json!({ "student_id": student }),
        )
    }

    /// Enrols `student` in `subject` on subject-service; panics only if no response arrives.
    pub async fn enrol(&self, subject: &str, student: &str) -> reqwest::Response {
        self.enrolment(subject, student)
            .send()
            .await
            .unwrap_or_else(|e| panic!("enrolment on {}: no response ({e})", self.base))
    }

    /// `DELETE path`; panics only if no response arrives.
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        let request = self.http.delete(format!("{}{path}", self.base));
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE {}{path}: no response ({e})", self.base))
    }

    /// Deletes `student` on student-service, expecting 204.
    pub async fn delete_student(&self, student: &str) {
        let res = self.delete(&format!("/students/{student}")).await;
        assert_eq!(
            res.status(),
            204,
            "DELETE /students/{student} on {}",
            self.base
        );
    }

    /// The ids of the students enrolled in `subject` on subject-service (the first page, up to
    /// 100).
    pub async fn enrolled(&self, subject: &str) -> Vec<String> {
        let url = format!("{}/subjects/{subject}/enrolments?limit=100", self.base);
        let mut request = self.http.get(&url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let res = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: no response ({e})"));
        assert_eq!(res.status(), 200, "GET {url}");
        let page: Value = res
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: not JSON ({e})"));
        page["items"]
            .as_array()
            .unwrap_or_else(|| panic!("GET {url}: no items in {page}"))
            .iter()
            .filter_map(|e| e["student_id"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Creates a student (`email`) on `students` and a subject on `subjects`, then enrols the one
/// in the other through subject-service (which asks student-service about the student);
/// returns the enrolment's response.
pub async fn enrol_new_student(
    students: &SchoolClient,
    subjects: &SchoolClient,
    email: &str,
) -> reqwest::Response {
    let student = students.create_student("Ada", email).await;
    let subject = subjects.create_subject("CS-101", "Programming").await;
    subjects.enrol(&subject, &student).await
}
