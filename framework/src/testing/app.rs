//! `TestApp`: a real service on a loopback port, for integration tests.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::requests::Requests;
use crate::service::StartupError;
use crate::{Error, ServiceBuilder};

/// Longest a test service may take to start.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A service running in the test process on `127.0.0.1:0`, with its own temporary data folder.
///
/// ```no_run
/// # async fn t() -> Result<(), servicekit::Error> {
/// use servicekit::testing::TestApp;
///
/// let app = TestApp::spawn(servicekit::Service::builder("svc")).await?;
/// let res = app.get("/health/ready").await;
/// assert_eq!(res.status(), 200);
/// app.shutdown().await?;
/// # Ok(()) }
/// ```
///
/// [`get`](TestApp::get), [`post_json`](TestApp::post_json), [`put_json`](TestApp::put_json)
/// and [`delete`](TestApp::delete) send a request and return the response, panicking (with
/// the method and URL) only when no response arrives at all; [`TestApp::bearer`] gives the
/// same helpers with an `Authorization: Bearer` token.
#[derive(Debug)]
pub struct TestApp {
    addr: SocketAddr,
    base: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts `builder` on a free loopback port and waits until it is ready (its startup probe
    /// answers 200).
    ///
    /// Tests get no drain delay and an SQLite file in a fresh temporary folder unless they set
    /// `database.url`. Logs are off unless `TEST_LOG` is set (to a filter such as `debug`). A
    /// test's own [`set`](ServiceBuilder::set) of any of these keys wins.
    pub async fn spawn(builder: ServiceBuilder) -> Result<Self, Error> {
        Self::spawn_at(builder, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// [`TestApp::spawn`] on a given address, e.g. the port of a stopped `TestApp` to start a
    /// service again where its clients expect it.
    pub async fn spawn_at(builder: ServiceBuilder, addr: SocketAddr) -> Result<Self, Error> {
        let data_dir = tempfile::tempdir().map_err(|source| Error::Bind {
            addr: "temporary data folder".into(),
            source,
        })?;
        let level = std::env::var("TEST_LOG").unwrap_or_else(|_| "off".into());
        let (ready, started) = oneshot::channel();
        let builder = builder
            .set_beneath("server.drain_delay", "0s")
            .set_beneath("database.data_dir", data_dir.path())
            .set_beneath("log.level", level)
            .set_beneath("service.environment", "test")
            .on_ready(move |addr| {
                let _ = ready.send(addr);
            });
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let mut task = tokio::spawn(builder.run_with(listener, async move {
            let _ = stopped.await;
        }));
        // The callback's sender is dropped unsent only when the service stops before it is
        // ready; its task then holds the reason.
        let outcome = tokio::time::timeout(STARTUP_TIMEOUT, async {
            match started.await {
                Ok(_) => Ok(()),
                Err(_) => Err(match (&mut task).await {
                    Ok(Err(e)) => e,
                    _ => StartupError::StoppedBeforeReady.into(),
                }),
            }
        })
        .await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                task.abort();
                return Err(StartupError::NotReady {
                    url: format!("http://{addr}"),
                    within: STARTUP_TIMEOUT,
                }
                .into());
            }
        }
        Ok(Self {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a reqwest client with default TLS settings always builds"),
            stop: Some(stop),
            task: Some(task),
            _data_dir: data_dir,
        })
    }

    /// The absolute URL of `path` on this service.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The address the service listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A client for calling the service.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The request helpers with `Authorization: Bearer <token>` on every request.
    ///
    /// ```no_run
    /// # async fn t(app: servicekit::testing::TestApp, issuer: servicekit::testing::TestIssuer) {
    /// let token = issuer.token().scope("students:read").sign();
    /// let res = app.bearer(&token).get("/students").await;
    /// assert_eq!(res.status(), 200);
    /// # }
    /// ```
    pub fn bearer(&self, token: &str) -> Requests<'_> {
        Requests::new(self, Some(token))
    }

    /// `GET path`; panics only if no response arrives.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        Requests::new(self, None).get(path).await
    }

    /// `DELETE path`; panics only if no response arrives.
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        Requests::new(self, None).delete(path).await
    }

    /// `POST path` with `body` as JSON; panics only if no response arrives.
    pub async fn post_json<T: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> reqwest::Response {
        Requests::new(self, None).post_json(path, body).await
    }

    /// `PUT path` with `body` as JSON; panics only if no response arrives.
    pub async fn put_json<T: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> reqwest::Response {
        Requests::new(self, None).put_json(path, body).await
    }

    /// Starts the drain and waits for the service to stop.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
