//! `streamlab topic create | list | describe | alter-config | trim-prefix | delete | produce |
//! consume`: the `rpk topic`
//! steps of the course's first lesson, with rpk's flags and output shapes, so a student
//! needs nothing but streamlab. `--format json` gives the same facts as JSON.

use super::table::{aligned, section, table};
use crate::cli::{OutputFormat, parse_start};
use crate::kafka::KafkaConfig;
use crate::kafka::admin::{create_replicated_topic, delete_topic};
use crate::kafka::configs::{self, parse_setting};
use crate::kafka::metadata::{ClusterReader, MetadataError, TopicLayout};
use crate::kafka::records::{self, Consume, Start};
use crate::shutdown::Shutdown;
use anyhow::Context;
use clap::{Args, Subcommand};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use serde_json::json;
use std::collections::VecDeque;
use std::io::Write;
use std::process::ExitCode;
use streamlab_wire::TopicConfigs;

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create topics.
    Create {
        #[arg(required = true)]
        topics: Vec<String>,
        /// Partitions of each topic.
        #[arg(short = 'p', long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=1000))]
        partitions: i32,
        /// Replicas of each partition; -1, as rpk's default, is the broker's
        /// `default.replication.factor` (1 on the embedded broker).
        #[arg(short = 'r', long, default_value_t = -1, allow_negative_numbers = true, value_parser = replicas)]
        replicas: i32,
        /// A topic setting, rpk's `-c retention.ms=60000`. Repeatable.
        #[arg(short = 'c', long = "topic-config", value_name = "KEY=VALUE", value_parser = parse_setting)]
        configs: Vec<(String, String)>,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Set topic settings, or return them to the broker's default; the others stay.
    AlterConfig {
        topic: String,
        /// A setting to set, `key=value`. Repeatable.
        #[arg(short = 's', long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
        set: Vec<(String, String)>,
        /// A setting to return to the broker's default. Repeatable.
        #[arg(short = 'd', long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
    /// Delete a partition's records below an offset (Kafka's delete-records): its log start
    /// offset moves there.
    TrimPrefix {
        topic: String,
        /// The partition.
        #[arg(short = 'p', long)]
        partition: i32,
        /// Records below this offset are deleted.
        #[arg(short = 'o', long)]
        offset: i64,
    },
    /// List topics with their partitions.
    #[command(alias = "ls")]
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// A topic's settings and partitions: leader, replicas, first stored offset and high
    /// watermark.
    Describe {
        topic: String,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Delete topics.
    Delete {
        #[arg(required = true)]
        topics: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Produce one record per line of stdin.
    Produce(ProduceArgs),
    /// Print records, as rpk does: one JSON object per record.
    Consume(ConsumeArgs),
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    pub topic: String,
    /// The key of every record.
    #[arg(short = 'k', long)]
    pub key: Option<String>,
    /// A header on every record: rpk's `key:value`, or `key=value`. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "KEY:VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Send to this partition (default: the key's, or spread).
    #[arg(short = 'p', long)]
    pub partition: Option<i32>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

/// The key ends at the first `:` (rpk's form, as the course's `rpk topic produce -H` uses
/// it) or `=`, whichever comes first, so a value may hold either (`url:http://x`).
fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.find([':', '=']).map(|at| (&s[..at], &s[at + 1..])) {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected a header as key:value (or key=value), got `{s}`")),
    }
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    pub topic: String,
    /// Where to start: `start`, `end`, or an offset N in every partition read.
    #[arg(short = 'o', long, default_value = "start", value_parser = parse_start)]
    pub offset: Start,
    /// Stop after this many records.
    #[arg(short = 'n', long)]
    pub num: Option<usize>,
    /// Read only these partitions. Repeatable.
    #[arg(short = 'p', long = "partitions", value_delimiter = ',')]
    pub partitions: Vec<i32>,
    /// Read as this consumer group and commit what was printed (`--offset` then applies
    /// only where the group has committed nothing).
    #[arg(short = 'g', long)]
    pub group: Option<String>,
    /// `text`: rpk's pretty JSON per record; `json`: one compact JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Print only the records this filter matches, in the lab's filter language
    /// (`value.class == "poisonous" and value.probability < 0.6`; README has the grammar).
    /// With `--group`, the records passed over are committed too: they were read.
    #[arg(short = 'f', long)]
    pub filter: Option<String>,
    /// Show values decoded as the lab does (JSON as JSON, Avro containers as their records
    /// with `avro_schema`) instead of rpk's value text.
    #[arg(long)]
    pub decode: bool,
    /// Stop at the end of what the partitions hold when it starts, instead of waiting for more.
    #[arg(short = 'e', long)]
    pub exit: bool,
}

pub async fn run(command: TopicCommand, kafka: KafkaConfig, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    match command {
        TopicCommand::Create { topics, partitions, replicas, configs, format } => {
            let mut results = Vec::new();
            for t in topics {
                let r = create_replicated_topic(&kafka, &t, partitions, replicas, &configs).await;
                results.push((t, r.map_err(|e| e.to_string())));
            }
            statuses(&results, format)
        }
        TopicCommand::Delete { topics, format } => {
            let mut results = Vec::new();
            for t in topics {
                let r = delete_topic(&kafka, &t).await;
                results.push((t, r.map_err(|e| e.to_string())));
            }
            statuses(&results, format)
        }
        TopicCommand::List { format } => {
            let topics = tokio::task::spawn_blocking(move || ClusterReader::new(&kafka)?.layout()).await??;
            let out = &mut std::io::stdout().lock();
            match format {
                OutputFormat::Json => {
                    writeln!(out, "{}", topics_json(&topics))?;
                }
                OutputFormat::Text => topics_table(out, &topics)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        TopicCommand::AlterConfig { topic, set, delete } => {
            configs::change(&kafka, &topic, set, delete, false).await?;
            println!("{topic}: altered");
            Ok(ExitCode::SUCCESS)
        }
        TopicCommand::TrimPrefix { topic, partition, offset } => {
            let start = configs::trim_prefix(&kafka, &topic, partition, offset).await?;
            table(
                &mut std::io::stdout().lock(),
                &["TOPIC", "PARTITION", "NEW-START-OFFSET"],
                &[vec![topic, partition.to_string(), start.to_string()]],
            )?;
            Ok(ExitCode::SUCCESS)
        }
        TopicCommand::Describe { topic, format } => {
            let name = topic.clone();
            let settings = configs::describe(&kafka, &topic, false).await;
            let found = tokio::task::spawn_blocking(move || ClusterReader::new(&kafka)?.details(Some(&name))).await?;
            let t = match found {
                Ok(mut topics) if !topics.is_empty() => topics.remove(0),
                Ok(_) => anyhow::bail!("topic {topic} does not exist"),
                Err(e @ MetadataError::NoTopic(_)) => anyhow::bail!(e),
                Err(e) => return Err(e.into()),
            };
            let TopicConfigs { configs: settings, replication, .. } = settings?;
            let out = &mut std::io::stdout().lock();
            match format {
                OutputFormat::Json => {
                    let mut value = serde_json::to_value(&t)?;
                    value["configs"] = serde_json::to_value(&settings)?;
                    value["replication"] = serde_json::to_value(&replication)?;
                    writeln!(out, "{value}")?
                }
                OutputFormat::Text => {
                    section(out, "SUMMARY")?;
                    let summary = [
                        vec!["NAME".to_owned(), t.name.clone()],
                        vec!["PARTITIONS".to_owned(), t.partitions.len().to_string()],
                        vec!["REPLICAS".to_owned(), t.replicas().to_string()],
                    ];
                    aligned(out, &summary)?;
                    writeln!(out)?;
                    section(out, "CONFIGS")?;
                    let rows: Vec<Vec<String>> = settings
                        .iter()
                        .map(|c| vec![c.name.clone(), c.value.clone().unwrap_or_default(), c.source.clone()])
                        .collect();
                    table(out, &["KEY", "VALUE", "SOURCE"], &rows)?;
                    writeln!(out)?;
                    section(out, "PARTITIONS")?;
                    let rows: Vec<Vec<String>> = t
                        .partitions
                        .iter()
                        .map(|p| {
                            vec![
                                p.partition.to_string(),
                                p.leader.to_string(),
                                format!("{:?}", p.replicas),
                                p.log_start_offset.to_string(),
                                p.high_watermark.to_string(),
                            ]
                        })
                        .collect();
                    table(out, &["PARTITION", "LEADER", "REPLICAS", "LOG-START-OFFSET", "HIGH-WATERMARK"], &rows)?;
                    // rpk lists no in-sync replicas; a class taking brokers away needs them.
                    if let Some(r) = replication.filter(|r| !r.problems.is_empty()) {
                        writeln!(out)?;
                        section(out, "REPLICATION")?;
                        let rows: Vec<Vec<String>> = r
                            .partitions
                            .iter()
                            .map(|p| {
                                vec![p.partition.to_string(), format!("{:?}", p.replicas), format!("{:?}", p.in_sync)]
                            })
                            .collect();
                        table(out, &["PARTITION", "REPLICAS", "IN-SYNC"], &rows)?;
                        for problem in &r.problems {
                            writeln!(out, "{problem}")?;
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TopicCommand::Produce(args) => produce(args, kafka).await,
        TopicCommand::Consume(args) => {
            let consume = Consume::from(args);
            tokio::task::spawn_blocking(move || {
                records::consume(&consume, &kafka, &shutdown, &mut std::io::stdout().lock())
            })
            .await??;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// rpk's topic list, `NAME  PARTITIONS  REPLICAS` (also the TOPICS of `cluster info`).
pub fn topics_table(out: &mut impl Write, topics: &[TopicLayout]) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> =
        topics.iter().map(|t| vec![t.name.clone(), t.partitions.to_string(), t.replicas.to_string()]).collect();
    table(out, &["NAME", "PARTITIONS", "REPLICAS"], &rows)
}

/// The same list as JSON.
pub fn topics_json(topics: &[TopicLayout]) -> serde_json::Value {
    serde_json::to_value(topics).expect("a topic list serializes")
}

/// rpk's `TOPIC  STATUS` table for create and delete; exit code 1 when any failed.
fn statuses(results: &[(String, Result<(), String>)], format: OutputFormat) -> anyhow::Result<ExitCode> {
    let out = &mut std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            let list: Vec<_> = results
                .iter()
                .map(|(t, r)| json!({ "topic": t, "ok": r.is_ok(), "error": r.as_ref().err() }))
                .collect();
            writeln!(out, "{}", serde_json::Value::Array(list))?;
        }
        OutputFormat::Text => {
            let rows: Vec<Vec<String>> =
                results.iter().map(|(t, r)| vec![t.clone(), r.clone().err().unwrap_or_else(|| "OK".into())]).collect();
            table(out, &["TOPIC", "STATUS"], &rows)?;
        }
    }
    Ok(if results.iter().all(|(_, r)| r.is_ok()) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// At most this many records wait for their acknowledgement while stdin is read further.
const PRODUCE_WINDOW: usize = 1000;

/// One record per line of stdin; each acknowledgement printed in input order.
async fn produce(args: ProduceArgs, kafka: KafkaConfig) -> anyhow::Result<ExitCode> {
    use tokio::io::AsyncBufReadExt;
    let producer: FutureProducer = kafka.client().set("linger.ms", "5").create().context("cannot create a producer")?;
    let mut headers = OwnedHeaders::new();
    for (k, v) in &args.headers {
        headers = headers.insert(Header { key: k, value: Some(v) });
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut pending: VecDeque<DeliveryFuture> = VecDeque::new();
    let mut failed = false;
    while let Some(line) = lines.next_line().await.context("cannot read stdin")? {
        let mut record = FutureRecord::to(&args.topic).payload(&line).headers(headers.clone());
        if let Some(k) = &args.key {
            record = record.key(k);
        }
        if let Some(p) = args.partition {
            record = record.partition(p);
        }
        pending.push_back(producer.send_result(record).map_err(|(e, _)| e).context("cannot produce")?);
        while pending.len() > PRODUCE_WINDOW {
            failed |= report(pending.pop_front().expect("non-empty").await, &args)?;
        }
    }
    while let Some(delivery) = pending.pop_front() {
        failed |= report(delivery.await, &args)?;
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Prints one acknowledgement as rpk does; true when the record was not delivered.
fn report(
    delivery: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, futures::channel::oneshot::Canceled>,
    args: &ProduceArgs,
) -> anyhow::Result<bool> {
    let out = &mut std::io::stdout().lock();
    match delivery {
        Ok(Ok(d)) => {
            let ts = d.timestamp.to_millis().unwrap_or(-1);
            match args.format {
                OutputFormat::Json => writeln!(
                    out,
                    "{}",
                    json!({ "topic": args.topic, "partition": d.partition, "offset": d.offset, "timestamp": ts })
                )?,
                OutputFormat::Text => {
                    writeln!(out, "Produced to partition {} at offset {} with timestamp {ts}.", d.partition, d.offset)?
                }
            }
            Ok(false)
        }
        Ok(Err((e, _))) => {
            eprintln!("unable to produce record to {}: {e}", args.topic);
            Ok(true)
        }
        Err(_) => {
            eprintln!("unable to produce record to {}: the producer stopped", args.topic);
            Ok(true)
        }
    }
}

impl From<ConsumeArgs> for Consume {
    fn from(a: ConsumeArgs) -> Self {
        Consume {
            topic: a.topic,
            start: a.offset,
            num: a.num,
            partitions: a.partitions,
            group: a.group,
            filter: a.filter,
            decode: a.decode,
            compact: a.format == OutputFormat::Json,
            exit: a.exit,
        }
    }
}

/// `--replicas`: -1 (the broker's default) or 1 to 100.
fn replicas(s: &str) -> Result<i32, String> {
    match s.parse::<i32>() {
        Ok(n) if n == -1 || (1..=100).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not -1 (the broker's default) or a number from 1 to 100")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_header;

    #[test]
    fn headers_take_rpks_form_and_key_equals_value() {
        let pair = |k: &str, v: &str| Ok((k.to_owned(), v.to_owned()));
        assert_eq!(parse_header("source:lab"), pair("source", "lab"));
        assert_eq!(parse_header("source=lab"), pair("source", "lab"));
        assert_eq!(parse_header("url:http://x?a=b"), pair("url", "http://x?a=b"));
        assert_eq!(parse_header("expr=a:b"), pair("expr", "a:b"));
        assert_eq!(parse_header("empty:"), pair("empty", ""));
        assert!(parse_header(":lab").unwrap_err().contains("key:value"));
        assert!(parse_header("no-separator").is_err());
    }
}
