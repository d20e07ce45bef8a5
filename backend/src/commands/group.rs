//! `streamlab group list | describe | seek`: the `rpk group` steps of the course, with rpk's
//! output shapes (rpk's BROKER column is left out: the list the broker gives names no
//! coordinator).

use super::table::{aligned, section, table};
use crate::cli::{OutputFormat, parse_start};
use crate::kafka::KafkaConfig;
use crate::kafka::groups::GroupReader;
use crate::kafka::metadata::ClusterReader;
use crate::kafka::records::Start;
use clap::Subcommand;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
use streamlab_wire::{GroupInfo, ResetOffsets, ResetTo, TopicInfo};

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Every consumer group and its state.
    #[command(alias = "ls")]
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// A group's state, members and, per partition, its committed offset and lag.
    Describe {
        group: String,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Move an empty group's committed offsets: to the start, the end or an offset.
    Seek {
        group: String,
        /// `start`, `end` or an offset (kept within each partition's stored records).
        #[arg(long, value_parser = parse_start)]
        to: Start,
        /// Only these topics (default: every topic the group has committed to).
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
}

pub async fn run(command: GroupCommand, kafka: KafkaConfig) -> anyhow::Result<ExitCode> {
    tokio::task::spawn_blocking(move || blocking(command, &kafka)).await?
}

fn blocking(command: GroupCommand, kafka: &KafkaConfig) -> anyhow::Result<ExitCode> {
    let topics = ClusterReader::new(kafka)?.topics()?;
    let reader = GroupReader::new(kafka)?;
    let groups = reader.groups(&topics)?;
    let find = |name: &str| {
        groups.iter().find(|g| g.group == name).cloned().ok_or_else(|| anyhow::anyhow!("group {name} does not exist"))
    };
    let out = &mut std::io::stdout().lock();
    match command {
        GroupCommand::List { format } => match format {
            OutputFormat::Json => {
                let list: Vec<_> = groups.iter().map(|g| json!({ "group": g.group, "state": g.state })).collect();
                writeln!(out, "{}", serde_json::Value::Array(list))?;
            }
            OutputFormat::Text => {
                let rows: Vec<Vec<String>> = groups.iter().map(|g| vec![g.group.clone(), g.state.clone()]).collect();
                table(out, &["GROUP", "STATE"], &rows)?;
            }
        },
        GroupCommand::Describe { group, format } => {
            let g = find(&group)?;
            match format {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&g)?)?,
                OutputFormat::Text => describe(out, &g, &topics)?,
            }
        }
        GroupCommand::Seek { group, to, topics: only, format } => {
            let before = find(&group)?;
            let to = match to {
                Start::Beginning => ResetTo::Earliest,
                Start::End => ResetTo::Latest,
                Start::Offset(offset) => ResetTo::Offset { offset },
            };
            let mut after = before.clone();
            let targets: Vec<Option<String>> =
                if only.is_empty() { vec![None] } else { only.into_iter().map(Some).collect() };
            for topic in targets {
                after = reader.reset(&group, &ResetOffsets { topic, to }, &topics)?;
            }
            let moved: Vec<(String, i32, Option<i64>, Option<i64>)> = after
                .offsets
                .iter()
                .map(|o| {
                    let prior = before
                        .offsets
                        .iter()
                        .find(|b| b.topic == o.topic && b.partition == o.partition)
                        .and_then(|b| b.committed);
                    (o.topic.clone(), o.partition, prior, o.committed)
                })
                .filter(|(_, _, prior, now)| prior != now)
                .collect();
            match format {
                OutputFormat::Json => {
                    let list: Vec<_> = moved
                        .iter()
                        .map(|(t, p, prior, now)| json!({ "topic": t, "partition": p, "prior": prior, "current": now }))
                        .collect();
                    writeln!(out, "{}", serde_json::Value::Array(list))?;
                }
                OutputFormat::Text => {
                    let rows: Vec<Vec<String>> = moved
                        .iter()
                        .map(|(t, p, prior, now)| {
                            vec![t.clone(), p.to_string(), offset_text(*prior), offset_text(*now)]
                        })
                        .collect();
                    table(out, &["TOPIC", "PARTITION", "PRIOR-OFFSET", "CURRENT-OFFSET"], &rows)?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn offset_text(offset: Option<i64>) -> String {
    offset.map_or_else(|| "-".to_owned(), |o| o.to_string())
}

/// rpk's `group describe`: a summary, then a row per partition.
fn describe(out: &mut impl Write, g: &GroupInfo, topics: &[TopicInfo]) -> std::io::Result<()> {
    let summary = [
        vec!["GROUP".to_owned(), g.group.clone()],
        vec!["STATE".to_owned(), g.state.clone()],
        vec!["MEMBERS".to_owned(), g.members.len().to_string()],
        vec!["TOTAL-LAG".to_owned(), g.total_lag().to_string()],
    ];
    aligned(out, &summary)?;
    writeln!(out)?;
    section(out, "PARTITIONS")?;
    let rows: Vec<Vec<String>> = g
        .offsets
        .iter()
        .map(|o| {
            let start = topics
                .iter()
                .find(|t| t.name == o.topic)
                .and_then(|t| t.partitions.iter().find(|p| p.id == o.partition))
                .map_or(0, |p| p.low);
            let member = g
                .members
                .iter()
                .find(|m| m.assignment.iter().any(|a| a.topic == o.topic && a.partitions.contains(&o.partition)));
            let dash = || "-".to_owned();
            vec![
                o.topic.clone(),
                o.partition.to_string(),
                offset_text(o.committed),
                start.to_string(),
                o.end.to_string(),
                offset_text(o.lag),
                member.map_or_else(dash, |m| m.member_id.clone()),
                member.map_or_else(dash, |m| m.client_id.clone()),
                member.map_or_else(dash, |m| m.host.clone()),
            ]
        })
        .collect();
    table(
        out,
        &[
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-START-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "MEMBER-ID",
            "CLIENT-ID",
            "HOST",
        ],
        &rows,
    )
}
