//! `streamlab`: parse the flags, pick the command, run it. What each command does is in
//! `streamlab::commands`.

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;
use streamlab::cli::Cli;
use streamlab::shutdown::Shutdown;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let default_filter = "info,nisshi=warn,nisshi_broker=warn,nisshi_storage=warn";
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("STREAMLAB_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter)))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async { streamlab::commands::run(cli, Shutdown::on_ctrl_c()).await });
    // A command interrupted in blocking work (training a model) has nothing left to finish;
    // do not wait for its thread.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}
