//! `streamlab`: parse the flags, pick the command, run it. What each command does is in
//! `streamlab::commands`.

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;
use streamlab::commands::Cli;
use streamlab::shutdown::Shutdown;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // The embedded broker's crates log every request at info: only their warnings are news.
    let default_filter = "info,nisshi=warn,nisshi_auth=warn,nisshi_broker=warn,nisshi_model=warn,nisshi_sans_io=warn,\
                          nisshi_schema=warn,nisshi_service=warn,nisshi_storage=warn,nisshi_storage_sql=warn";
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
    let result = runtime.block_on(async { streamlab::commands::run(cli, Shutdown::on_signals()).await });
    // A command interrupted in blocking work (training a model) has nothing left to finish;
    // do not wait for its thread.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(code) => code,
        Err(e) => {
            // The message and its causes on one line; never a backtrace, even with
            // RUST_BACKTRACE set: these errors are for users, who are told what to do.
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
