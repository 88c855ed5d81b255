//! `TestApp`: a real service on a loopback port, for integration tests.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
/// let res = app.client().get(app.url("/health/ready")).send().await.unwrap();
/// assert_eq!(res.status(), 200);
/// app.shutdown().await?;
/// # Ok(()) }
/// ```
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
    /// Starts `builder` on a free loopback port and waits until its startup probe is 200.
    ///
    /// Tests get no drain delay and an SQLite file in a fresh temporary folder unless they set
    /// `database.url`. Logs are off unless `TEST_LOG` is set (to a filter such as `debug`).
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
        let builder = builder
            .set("server.drain_delay", "0s")
            .set("database.data_dir", data_dir.path())
            .set("log.level", level)
            .set("service.environment", "test");
        let builder = prefer_code_overrides(builder);
        let startup_path = builder
            .sources
            .overrides
            .iter()
            .rev()
            .find(|(key, _)| key == "health.startup_path")
            .and_then(|(_, value)| value.as_str().map(str::to_string))
            .unwrap_or_else(|| "/health/startup".to_string());
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
        let task = tokio::spawn(builder.run_with(listener, async move {
            let _ = stopped.await;
        }));
        let mut app = Self {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a reqwest client with default TLS settings always builds"),
            stop: Some(stop),
            task: Some(task),
            _data_dir: data_dir,
        };
        app.wait_started(&startup_path).await?;
        Ok(app)
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

    async fn wait_started(&mut self, startup_path: &str) -> Result<(), Error> {
        let url = self.url(startup_path);
        let deadline = std::time::Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(task) = self.task.take_if(|task| task.is_finished()) {
                return match task.await {
                    Ok(Err(e)) => Err(e),
                    _ => Err(StartupError::StoppedBeforeReady.into()),
                };
            }
            if std::time::Instant::now() > deadline {
                return Err(StartupError::NotReady {
                    url,
                    within: STARTUP_TIMEOUT,
                }
                .into());
            }
            if let Ok(res) = self.client.get(&url).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Overrides set by the test itself come after ours, so they win (the last merge wins); this
/// moves ours to the front so that a test's own `set("log.level", ..)` etc. still applies.
fn prefer_code_overrides(mut builder: ServiceBuilder) -> ServiceBuilder {
    let overrides = &mut builder.sources.overrides;
    let ours = overrides.split_off(overrides.len() - 4);
    let theirs = std::mem::take(overrides);
    overrides.extend(ours);
    overrides.extend(theirs);
    builder
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
