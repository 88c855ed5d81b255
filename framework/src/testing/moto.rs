//! `MotoServer`: moto's AWS emulator on a free loopback port, for Secrets Manager and SNS + SQS
//! tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;

use crate::secrets::aws::AwsSecretsManager;

/// How to install `moto_server` (named in the error when it is missing).
pub const MOTO_INSTALL: &str = "pip install 'moto[server]'";
/// The region the emulator's clients use.
pub const MOTO_REGION: &str = "us-east-1";
/// The dummy access key id and secret the emulator's clients use.
pub const MOTO_CREDENTIAL: &str = "testing";

/// A `moto_server` process on `127.0.0.1:<free port>`, killed when dropped.
///
/// Tests that need AWS fail (never skip) when `moto_server` is missing; the error names
/// [`MOTO_INSTALL`].
///
/// ```no_run
/// # async fn t() -> std::io::Result<()> {
/// use servicekit::testing::MotoServer;
///
/// let moto = MotoServer::start().await?;
/// moto.client().create_secret().name("db").secret_string("pw").send().await.unwrap();
/// // In process: `Service::builder(..).secret_provider(moto.provider())`;
/// // for a child process: `Command::new(..).envs(moto.env())`.
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl MotoServer {
    /// Starts the emulator and waits (at most 30 s) until it accepts connections.
    pub async fn start() -> std::io::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        Self::start_on(port).await
    }

    /// Starts the emulator on a given loopback port (to bring back an endpoint that a client
    /// was configured with while nothing listened there).
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("moto.log");
        let out = std::fs::File::create(&log)?;
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot run `moto_server` ({e}); install it with `{MOTO_INSTALL}`"),
                )
            })?;
        let mut server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        server.wait_ready(port).await?;
        Ok(server)
    }

    async fn wait_ready(&mut self, port: u16) -> std::io::Result<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "moto_server exited ({status}): {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                )));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(std::io::Error::other(
            "moto_server did not accept connections within 30s",
        ))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An `aws-sm` provider for this emulator, configured explicitly (the test process's
    /// environment is not read).
    pub fn provider(&self) -> AwsSecretsManager {
        AwsSecretsManager::builder()
            .region(MOTO_REGION)
            .endpoint_url(&self.endpoint)
            .static_credentials(MOTO_CREDENTIAL, MOTO_CREDENTIAL)
            .build()
    }

    /// An SDK client for arranging secrets (`create_secret`, `put_secret_value`, ...).
    pub fn client(&self) -> Client {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new(MOTO_REGION))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                MOTO_CREDENTIAL,
                MOTO_CREDENTIAL,
                None,
                None,
                "moto",
            ))
            .endpoint_url(&self.endpoint)
            .build();
        Client::from_conf(config)
    }

    /// The variables that point a child process's standard AWS chain at this emulator.
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("AWS_ACCESS_KEY_ID", MOTO_CREDENTIAL.to_string()),
            ("AWS_SECRET_ACCESS_KEY", MOTO_CREDENTIAL.to_string()),
            ("AWS_REGION", MOTO_REGION.to_string()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", self.endpoint.clone()),
        ]
    }

    /// Stops the emulator now (to test an unreachable Secrets Manager).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}
