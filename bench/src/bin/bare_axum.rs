//! Case A: the shared handler on bare axum + tokio, no middleware (the limit).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare-axum: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", servicekit_bench::port()?)).await?;
    axum::serve(listener, servicekit_bench::router()).await?;
    Ok(())
}
