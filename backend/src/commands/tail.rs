//! `streamlab tail TOPIC`: the short form of `streamlab topic consume TOPIC --format json
//! --decode`: records as JSON lines with their values decoded, for anyone checking a topic by
//! hand or piping it into `jq`.

use crate::kafka::KafkaConfig;
use crate::kafka::records::{self, Consume, Start};
use crate::shutdown::Shutdown;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct TailArgs {
    pub topic: String,
    /// Start at the earliest stored record or only show new ones.
    #[arg(long, value_enum, default_value = "earliest")]
    pub from: TailFrom,
    /// Stop after this many records.
    #[arg(short = 'n', long)]
    pub count: Option<usize>,
    /// Stop at the end of the topic instead of waiting for more.
    #[arg(short = 'e', long)]
    pub exit: bool,
    /// Print only the records this filter matches (the lab's filter language).
    #[arg(short = 'f', long)]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TailFrom {
    Earliest,
    Latest,
}

impl From<TailArgs> for Consume {
    /// `tail` is `topic consume --format json --decode`, from the start or the end.
    fn from(t: TailArgs) -> Self {
        Consume {
            topic: t.topic,
            start: match t.from {
                TailFrom::Earliest => Start::Beginning,
                TailFrom::Latest => Start::End,
            },
            num: t.count,
            partitions: Vec::new(),
            group: None,
            filter: t.filter,
            decode: true,
            compact: true,
            exit: t.exit,
        }
    }
}

pub async fn run(args: TailArgs, kafka: KafkaConfig, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let consume = Consume::from(args);
    tokio::task::spawn_blocking(move || records::consume(&consume, &kafka, &shutdown, &mut std::io::stdout().lock()))
        .await??;
    Ok(ExitCode::SUCCESS)
}
