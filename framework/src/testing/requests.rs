//! Request helpers for [`TestApp`]: one call per request, with an optional bearer token.

use reqwest::{Method, RequestBuilder, Response};

use super::TestApp;

/// Sends requests to a [`TestApp`], each with the same `Authorization: Bearer` token (or none);
/// from [`TestApp::bearer`].
///
/// Each helper returns the response whatever its status, so that tests assert on it, and
/// panics (naming the method and URL) only when no response arrives at all.
#[derive(Debug, Clone)]
pub struct Requests<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl<'a> Requests<'a> {
    pub(super) fn new(app: &'a TestApp, token: Option<&str>) -> Self {
        Self {
            app,
            token: token.map(str::to_string),
        }
    }

    /// A request to `path`, with the token, for anything the helpers do not cover (headers,
    /// raw bodies); send it with `.send().await`.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.app.client().request(method, self.app.url(path));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        send(self.request(Method::GET, path), "GET", path).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Response {
        send(self.request(Method::DELETE, path), "DELETE", path).await
    }

    /// `POST path` with `body` as JSON.
    pub async fn post_json<T: serde::Serialize + ?Sized>(&self, path: &str, body: &T) -> Response {
        send(self.request(Method::POST, path).json(body), "POST", path).await
    }

    /// `PUT path` with `body` as JSON.
    pub async fn put_json<T: serde::Serialize + ?Sized>(&self, path: &str, body: &T) -> Response {
        send(self.request(Method::PUT, path).json(body), "PUT", path).await
    }
}

async fn send(request: RequestBuilder, method: &str, path: &str) -> Response {
    match request.send().await {
        Ok(response) => response,
        Err(e) => panic!("{method} {path}: no response: {e}"),
    }
}
