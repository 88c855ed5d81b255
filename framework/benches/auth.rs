//! Token verification cost: a full verification (cold verified-token cache) against a hit in
//! the warm cache, for RS256 and ES256 tokens from the in-process `TestIssuer`.
//!
//! `cargo bench -p servicekit --bench auth --features testing`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use servicekit::auth::{Algorithm, AuthConfig, Verifier};
use servicekit::testing::TestIssuer;

fn verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (issuer, verifier) = runtime.block_on(async {
        let issuer = TestIssuer::start().await;
        let config: AuthConfig =
            serde_json::from_value(issuer.auth_config()).expect("test issuer config");
        let verifier = Verifier::new(&config).await.expect("verifier");
        (issuer, verifier)
    });

    let mut group = c.benchmark_group("auth");
    for (name, alg) in [("rs256", Algorithm::RS256), ("es256", Algorithm::ES256)] {
        let token = issuer
            .token()
            .alg(alg)
            .scope("students:read students:write")
            .sign();
        // Keys are loaded, so neither call waits: poll once instead of entering a runtime.
        let cold = || {
            verifier
                .verify_uncached(black_box(&token))
                .now_or_never()
                .expect("completes without waiting")
                .expect("valid token")
        };
        group.bench_function(format!("{name}/cold"), |b| b.iter(cold));

        verifier
            .verify(&token)
            .now_or_never()
            .expect("completes without waiting")
            .expect("valid token");
        let warm = || {
            verifier
                .verify(black_box(&token))
                .now_or_never()
                .expect("completes without waiting")
                .expect("valid token")
        };
        group.bench_function(format!("{name}/warm"), |b| b.iter(warm));
    }
    group.finish();
    drop(runtime);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = verification
}
criterion_main!(benches);
