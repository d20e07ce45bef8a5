//! `streamlab datagen`: the course's mushroom request generator.

use crate::kafka::KafkaConfig;
use crate::shutdown::Shutdown;
use clap::Args;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CategoricalsArg {
    /// Each code uniformly in its range (the course's generator).
    Uniform,
    /// Combinations of codes as real mushrooms have them.
    Joint,
}

#[derive(Debug, Args)]
pub struct DatagenArgs {
    /// Topic to write requests to.
    #[arg(short = 't', long, env = "STREAMLAB_DATAGEN_TOPIC", default_value = streamlab_wire::topics::REQUESTS)]
    pub topic: String,
    /// Milliseconds to sleep between bursts.
    #[arg(short = 's', long = "sleep_interval", alias = "sleep-interval", default_value_t = 1000)]
    pub sleep_interval: u64,
    /// Requests per burst.
    #[arg(short = 'b', long = "burst_size", alias = "burst-size", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub burst_size: u32,
    /// Up to this many extra seconds of random wait after each burst.
    #[arg(short = 'r', long, default_value_t = 1.0)]
    pub randomness: f64,
    /// Print every request sent.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// A steady rate instead of bursts, e.g. 200/s or 20000/s.
    #[arg(long, value_parser = crate::load::datagen::parse_rate, value_name = "N/s")]
    pub rate: Option<f64>,
    /// Stop after this many requests.
    #[arg(long)]
    pub count: Option<u64>,
    /// How categorical codes are drawn.
    #[arg(long, value_enum, default_value = "uniform")]
    pub categoricals: CategoricalsArg,
    /// Seed for reproducible requests.
    #[arg(long)]
    pub seed: Option<u64>,
}

impl DatagenArgs {
    pub fn config(&self) -> anyhow::Result<crate::load::datagen::DatagenConfig> {
        use crate::load::datagen::Pace;
        anyhow::ensure!(
            self.randomness.is_finite() && self.randomness >= 0.0,
            "--randomness must be a number of seconds ≥ 0"
        );
        Ok(crate::load::datagen::DatagenConfig {
            topic: self.topic.clone(),
            pace: match self.rate {
                Some(rate) => Pace::Rate(rate),
                None => Pace::Bursts {
                    burst: self.burst_size,
                    sleep: std::time::Duration::from_millis(self.sleep_interval),
                    randomness: std::time::Duration::from_secs_f64(self.randomness),
                },
            },
            count: self.count,
            categoricals: match self.categoricals {
                CategoricalsArg::Uniform => streamlab_model::profile::Categoricals::Uniform,
                CategoricalsArg::Joint => streamlab_model::profile::Categoricals::Joint,
            },
            verbose: self.verbose,
            seed: self.seed,
        })
    }
}

pub async fn run(args: DatagenArgs, kafka: KafkaConfig, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let deliveries =
        tokio::task::spawn_blocking(move || crate::load::datagen::run(&kafka, &config, &shutdown)).await??;
    let failed = deliveries.failed.load(Ordering::Relaxed);
    anyhow::ensure!(failed == 0, "{failed} requests were not delivered");
    Ok(ExitCode::SUCCESS)
}
