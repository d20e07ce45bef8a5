//! `streamlab cluster info`: what `rpk cluster info` shows (the cluster id, the brokers, the
//! topics), for the first step of the course: is the cluster there, and what is on it.

use super::table::{section, table};
use super::topic::{topics_json, topics_table};
use crate::cli::OutputFormat;
use crate::kafka::KafkaConfig;
use crate::kafka::metadata::ClusterReader;
use clap::Subcommand;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// The cluster id, the brokers and the topics.
    #[command(alias = "metadata")]
    Info {
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
}

pub async fn run(command: ClusterCommand, kafka: KafkaConfig) -> anyhow::Result<ExitCode> {
    let ClusterCommand::Info { format } = command;
    let (cluster, topics) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let reader = ClusterReader::new(&kafka)?;
        Ok((reader.cluster(&kafka.bootstrap, false)?, reader.layout()?))
    })
    .await??;
    let out = &mut std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            let topics = topics_json(&topics);
            writeln!(
                out,
                "{}",
                json!({ "cluster_id": cluster.cluster_id, "brokers": cluster.brokers, "topics": topics })
            )?;
        }
        OutputFormat::Text => {
            section(out, "CLUSTER")?;
            writeln!(out, "{}\n", cluster.cluster_id.as_deref().unwrap_or("(no cluster id)"))?;
            section(out, "BROKERS")?;
            let brokers: Vec<Vec<String>> =
                cluster.brokers.iter().map(|b| vec![b.id.to_string(), b.host.clone(), b.port.to_string()]).collect();
            table(out, &["ID", "HOST", "PORT"], &brokers)?;
            writeln!(out)?;
            section(out, "TOPICS")?;
            topics_table(out, &topics)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
