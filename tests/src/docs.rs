//! The guides in `docs/` and the README, compiled as doc tests: every Rust snippet in them
//! builds against this checkout (`cargo test -p servicekit-tests --doc`). Snippets marked
//! `no_run` compile without running. `ignore` is kept for code that cannot stand alone: the
//! macro's expansion, and the files of getting-started's notes-service, which
//! `scripts/docs-test` assembles into a crate and tests.

#[doc = include_str!("../../README.md")]
struct Readme;

#[doc = include_str!("../../docs/architecture.md")]
struct Architecture;

#[doc = include_str!("../../docs/auth.md")]
struct Auth;

#[doc = include_str!("../../docs/client.md")]
struct Client;

#[doc = include_str!("../../docs/configuration.md")]
struct Configuration;

#[doc = include_str!("../../docs/database.md")]
struct Database;

#[doc = include_str!("../../docs/deployment.md")]
struct Deployment;

#[doc = include_str!("../../docs/getting-started.md")]
struct GettingStarted;

#[doc = include_str!("../../docs/health-and-shutdown.md")]
struct HealthAndShutdown;

#[doc = include_str!("../../docs/observability.md")]
struct Observability;

#[doc = include_str!("../../docs/performance.md")]
struct Performance;

#[doc = include_str!("../../docs/secrets.md")]
struct Secrets;

#[doc = include_str!("../../docs/openapi.md")]
struct OpenApi;

#[doc = include_str!("../../docs/migrating-from-axum.md")]
struct MigratingFromAxum;

#[doc = include_str!("../../docs/comparison.md")]
struct Comparison;

#[doc = include_str!("../../docs/reliability.md")]
struct Reliability;
