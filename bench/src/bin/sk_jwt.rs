//! Case C: case B plus servicekit's JWT authentication: every request needs a bearer token
//! from [`ISSUER`] for [`AUDIENCE`] with the scope [`READ_SCOPE`]. The public keys (one or
//! more PEM blocks, e.g. an EC P-256 and an RSA key) are read from the file named by
//! `BENCH_JWT_PUBLIC_PEM`; the verified-token cache keeps its default (on).

use std::process::ExitCode;

use servicekit::auth::require_scope;
use servicekit_bench::{AUDIENCE, ISSUER, READ_SCOPE};

fn main() -> ExitCode {
    let pem = match std::env::var("BENCH_JWT_PUBLIC_PEM")
        .map_err(|_| "set BENCH_JWT_PUBLIC_PEM to a file of PEM public keys".to_string())
        .and_then(|path| std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}")))
    {
        Ok(pem) => pem,
        Err(e) => {
            eprintln!("sk-jwt: {e}");
            return ExitCode::FAILURE;
        }
    };
    servicekit::Service::builder("sk-jwt")
        .version(env!("CARGO_PKG_VERSION"))
        .set(
            "auth.issuers",
            serde_json::json!([{ "issuer": ISSUER, "audiences": [AUDIENCE], "pem": pem }]),
        )
        .routes(|ctx| async move {
            servicekit_bench::router()
                .route_layer(require_scope(READ_SCOPE))
                .layer(ctx.auth())
        })
        .run_main()
}
