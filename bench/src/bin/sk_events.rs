//! Case F: `sk-events bare` or `sk-events servicekit` runs one path of the events benchmark
//! (see `servicekit_bench::events`) and prints its result as one JSON line.

use servicekit_bench::events::{Settings, bare, framework};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let path = std::env::args().nth(1).unwrap_or_default();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("sk-events: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let summary = match path.as_str() {
        "bare" => bare::run(&settings).await,
        "servicekit" => framework::run(&settings).await,
        _ => {
            eprintln!("usage: sk-events bare|servicekit (settings: BENCH_EVENTS* variables)");
            return std::process::ExitCode::from(2);
        }
    };
    match summary {
        Ok(summary) => {
            println!(
                "{}",
                serde_json::to_string(&summary).expect("a summary serializes")
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sk-events {path}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
