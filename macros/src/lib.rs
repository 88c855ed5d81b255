//! Procedural macros for [servicekit]: [`#[microservice]`](macro@microservice)
//! and [`embed_migrations!`](macro@embed_migrations).
//!
//! Do not depend on this crate directly: use the re-exports
//! `servicekit::microservice` and `servicekit::embed_migrations`, which expand
//! to paths into `::servicekit`.
//!
//! [servicekit]: https://docs.rs/servicekit

mod attr;
mod expand;
mod migrations;

use proc_macro::TokenStream;

/// Turns an `async fn` returning the service's routes, or a function returning
/// the whole `ServiceBuilder`, into a complete microservice binary.
///
/// ```ignore
/// #[servicekit::microservice(name = "student-service", migrations = student_service::MIGRATIONS)]
/// async fn main(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
///     student_service::app(ctx).await
/// }
/// ```
///
/// When the service is already described by a library function that its tests
/// start (`student_service::service()` in the examples), the binary runs that
/// same function, so what runs in production is what is tested:
///
/// ```ignore
/// #[servicekit::microservice(builder = student_service::service)]
/// fn main() {}
/// ```
///
/// The function must be `async`, not generic, take exactly one argument, the
/// service's `servicekit::Context`, and return the routes: `axum::Router`, or
/// `Result<axum::Router, E>` (anything implementing `servicekit::IntoRoutes`).
/// It can have any name: a function called `main` is renamed to
/// `__servicekit_main`, any other one keeps its name, and a `fn main` is
/// generated next to it that configures, starts and runs the service until it
/// is shut down, with `servicekit::Service::builder`.
///
/// # Arguments
///
/// All are optional, in any order, separated by commas:
///
/// - `name = "student-service"`: the service name, used in logs, health
///   responses and configuration. Defaults to the package name,
///   `env!("CARGO_PKG_NAME")`.
/// - `migrations = ...`: the database migrations run at startup, either
///   - a string literal: a migrations directory relative to the crate's
///     `Cargo.toml`, embedded at compile time with
///     [`embed_migrations!`](macro@embed_migrations), e.g.
///     `migrations = "migrations"`; or
///   - any other expression: a `servicekit::db::Migrations` that lives for
///     `'static` (a `static` or a `const`), passed by reference, e.g.
///     `migrations = student_service::MIGRATIONS`.
/// - `openapi = EXPR`: the service's OpenAPI document, a
///   `utoipa::openapi::OpenApi` (needs servicekit's `openapi` feature), served
///   at `/openapi.json`, e.g. `openapi = student_service::api::openapi()`.
/// - `crate = "path"`: where to find servicekit, if it is not available as
///   `::servicekit` (e.g. it is re-exported by another crate). Defaults to
///   `"::servicekit"`.
/// - `builder = path::to::service`: the path (not a call) of a function
///   `fn() -> servicekit::ServiceBuilder` that returns the whole service; the
///   attribute then goes on an empty `fn main() {}`, and the generated `main`
///   calls the function and runs what it returns. `name`, `migrations` and
///   `openapi` cannot be combined with it (the function sets them; having two
///   places for one setting would let them disagree); `crate` can.
///
/// # Expansion
///
/// ```ignore
/// #[servicekit::microservice(name = "student-service", migrations = "migrations")]
/// async fn main(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
///     student_service::app(ctx).await
/// }
/// ```
///
/// expands to
///
/// ```ignore
/// async fn __servicekit_main(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
///     student_service::app(ctx).await
/// }
///
/// fn main() -> ::std::process::ExitCode {
///     ::servicekit::Service::builder("student-service")
///         .version(::core::env!("CARGO_PKG_VERSION"))
///         .migrations({
///             static __SERVICEKIT_MIGRATIONS: ::servicekit::db::Migrations =
///                 ::servicekit::embed_migrations!("migrations", crate = ::servicekit);
///             &__SERVICEKIT_MIGRATIONS
///         })
///         .routes(__servicekit_main)
///         .run_main()
/// }
/// ```
///
/// With `migrations = student_service::MIGRATIONS` the migrations line is
/// `.migrations(&student_service::MIGRATIONS)`; without `migrations` there is
/// none; without `name` the name is `::core::env!("CARGO_PKG_NAME")`.
///
/// With `builder = student_service::service`, the empty `fn main() {}` (its
/// attributes and doc comments kept) becomes
///
/// ```ignore
/// fn main() -> ::std::process::ExitCode {
///     let builder: ::servicekit::ServiceBuilder = student_service::service();
///     builder.run_main()
/// }
/// ```
///
/// # Errors
///
/// Every mistake is reported as a compile error pointing at the offending
/// tokens: unknown or duplicate arguments, a `name` that is not a string
/// literal, a function that is not `async`, is `unsafe`, is generic, does not
/// take exactly one argument, or has no return type; with `builder`, a
/// `builder` that is not a path, `name`/`migrations`/`openapi` next to it, or
/// an item that is not an empty `fn main() {}`. The function is still emitted,
/// with a stub `fn main() {}`, so that no other error follows from the mistake.
#[proc_macro_attribute]
pub fn microservice(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::microservice(args.into(), item.into()).into()
}

/// Embeds a directory of SQL migrations into the binary, as a constant
/// `servicekit::db::Migrations` expression.
///
/// ```ignore
/// pub static MIGRATIONS: servicekit::db::Migrations = servicekit::embed_migrations!("migrations");
/// ```
///
/// The directory is relative to the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`)
/// and holds one folder per database backend:
///
/// ```text
/// migrations/
/// ├── sqlite/
/// │   ├── 1_create_students.sql
/// │   └── 2_add_email.sql
/// ├── postgres/
/// │   └── ...
/// └── mysql/
///     └── ...
/// ```
///
/// A missing backend folder means no migrations for that backend. If none of
/// `sqlite/`, `postgres/` and `mysql/` exists, the `.sql` files directly in
/// the directory are used for all three backends (portable SQL).
///
/// File names follow sqlx's convention, `<VERSION>_<description>.sql` (or
/// `<VERSION>_<description>.up.sql`): `VERSION` is an integer, the
/// migrations run in increasing version order, and the description is the
/// rest of the name with `_` turned into spaces. `*.down.sql` files, files
/// not ending in `.sql` and hidden files are ignored. It is a compile error if
/// the directory does not exist, if a version is not an integer, or if two
/// files of one backend have the same version.
///
/// # Expansion
///
/// ```ignore
/// ::servicekit::db::Migrations::from_static(
///     &[ // sqlite
///         ::servicekit::db::EmbeddedMigration {
///             version: 1,
///             description: "create students",
///             sql: ::core::include_str!("/abs/path/to/migrations/sqlite/1_create_students.sql"),
///         },
///         // ...
///     ],
///     &[ /* postgres */ ],
///     &[ /* mysql */ ],
/// )
/// ```
///
/// `embed_migrations!("migrations", crate = my::servicekit)` uses another path
/// to servicekit.
///
/// Editing a migration file rebuilds the crate (through `include_str!`), but
/// adding or removing one is not noticed by cargo until the crate is rebuilt
/// for another reason; a build script with
/// `println!("cargo::rerun-if-changed=migrations");` makes it automatic.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    migrations::embed_migrations(input.into()).into()
}
