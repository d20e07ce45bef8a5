//! `streamlab datagen`: the course's mushroom request generator.

use crate::cli::DatagenArgs;
use crate::kafka::KafkaConfig;
use crate::shutdown::Shutdown;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

pub async fn run(args: DatagenArgs, kafka: KafkaConfig, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let stop = shutdown.flag();
    let deliveries = tokio::task::spawn_blocking(move || crate::load::datagen::run(&kafka, &config, &stop)).await??;
    let failed = deliveries.failed.load(Ordering::Relaxed);
    anyhow::ensure!(failed == 0, "{failed} requests were not delivered");
    Ok(ExitCode::SUCCESS)
}
