//! `streamlab topic create | list | describe | delete | produce | consume`: the `rpk topic`
//! steps of the course's first lesson, with rpk's flags and output shapes, so a student
//! needs nothing but streamlab. `--format json` gives the same facts as JSON.

use super::table::{aligned, section, table};
use crate::cli::{ConsumeArgs, OutputFormat, ProduceArgs, StartAt, TopicCommand};
use crate::kafka::KafkaConfig;
use crate::kafka::admin::{create_replicated_topic, delete_topic};
use crate::kafka::metadata::{ClusterReader, MetadataError, TopicDetail};
use crate::kafka::records;
use crate::shutdown::Shutdown;
use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;
use serde_json::json;
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use streamlab_wire::filter::Filter;

pub async fn run(command: TopicCommand, kafka: KafkaConfig, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    match command {
        TopicCommand::Create { topics, partitions, replicas, format } => {
            let mut results = Vec::new();
            for t in topics {
                let r = create_replicated_topic(&kafka, &t, partitions, replicas).await;
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
            let topics = tokio::task::spawn_blocking(move || ClusterReader::new(&kafka)?.details(None)).await??;
            let out = &mut std::io::stdout().lock();
            match format {
                OutputFormat::Json => {
                    writeln!(out, "{}", topics_json(&topics))?;
                }
                OutputFormat::Text => topics_table(out, &topics)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        TopicCommand::Describe { topic, format } => {
            let name = topic.clone();
            let found = tokio::task::spawn_blocking(move || ClusterReader::new(&kafka)?.details(Some(&name))).await?;
            let t = match found {
                Ok(mut topics) if !topics.is_empty() => topics.remove(0),
                Ok(_) => anyhow::bail!("topic {topic} does not exist"),
                Err(e @ MetadataError::NoTopic(_)) => anyhow::bail!(e),
                Err(e) => return Err(e.into()),
            };
            let out = &mut std::io::stdout().lock();
            match format {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&t)?)?,
                OutputFormat::Text => {
                    section(out, "SUMMARY")?;
                    let summary = [
                        vec!["NAME".to_owned(), t.name.clone()],
                        vec!["PARTITIONS".to_owned(), t.partitions.len().to_string()],
                        vec!["REPLICAS".to_owned(), t.replicas().to_string()],
                    ];
                    aligned(out, &summary)?;
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
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TopicCommand::Produce(args) => produce(args, kafka).await,
        TopicCommand::Consume(args) => {
            let stop = shutdown.flag();
            tokio::task::spawn_blocking(move || consume(&args, &kafka, &stop, &mut std::io::stdout().lock())).await??;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// rpk's topic list, `NAME  PARTITIONS  REPLICAS` (also the TOPICS of `cluster info`).
pub fn topics_table(out: &mut impl Write, topics: &[TopicDetail]) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> =
        topics.iter().map(|t| vec![t.name.clone(), t.partitions.len().to_string(), t.replicas().to_string()]).collect();
    table(out, &["NAME", "PARTITIONS", "REPLICAS"], &rows)
}

/// The same list as JSON.
pub fn topics_json(topics: &[TopicDetail]) -> serde_json::Value {
    topics
        .iter()
        .map(|t| json!({ "name": t.name, "partitions": t.partitions.len(), "replicas": t.replicas() }))
        .collect()
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

/// A record in `rpk topic consume`'s shape.
#[derive(Serialize)]
struct ConsumedRecord<'a> {
    topic: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<Cow<'a, str>>,
    value: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    headers: Vec<ConsumedHeader<'a>>,
    timestamp: i64,
    partition: i32,
    offset: i64,
}

#[derive(Serialize)]
struct ConsumedHeader<'a> {
    key: &'a str,
    value: Option<Cow<'a, str>>,
}

/// Prints records until `--num` were printed, with `--exit` the end is reached, or `stop`
/// is set.
pub fn consume(
    args: &ConsumeArgs,
    kafka: &KafkaConfig,
    stop: &std::sync::atomic::AtomicBool,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let filter = args.filter.as_deref().map(Filter::parse).transpose()?;
    anyhow::ensure!(
        !(args.exit && args.group.is_some()),
        "--exit cannot be combined with --group: where the group starts is the broker's to say"
    );
    // Per partition read, the end it had when reading began: `--exit` stops once each is reached.
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    let mut config = kafka.client();
    // The embedded broker holds a fetch for the client's whole wait even when records are
    // there; a short wait keeps the output live (README: "what it does not do").
    config.set("fetch.wait.max.ms", "20").set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer = match &args.group {
        Some(group) => {
            anyhow::ensure!(args.partitions.is_empty(), "--partitions cannot be combined with --group");
            let reset = match args.offset {
                StartAt::Start => "earliest",
                StartAt::End => "latest",
                StartAt::Offset(_) => {
                    anyhow::bail!("an exact --offset cannot be combined with --group: the group's own offsets apply")
                }
            };
            // Commits exactly what was printed (below), not what librdkafka fetched ahead.
            let c: BaseConsumer = config
                .set("group.id", group)
                .set("auto.offset.reset", reset)
                .set("enable.auto.commit", "false")
                .create()
                .context("cannot create a consumer")?;
            c.subscribe(&[&args.topic]).context("cannot subscribe")?;
            c
        }
        None => {
            let c: BaseConsumer = config
                .set("group.id", format!("streamlab-tail-{}", uuid::Uuid::new_v4()))
                .set("enable.auto.commit", "false")
                .create()
                .context("cannot create a consumer")?;
            let details = ClusterReader::new(kafka)?.details(Some(&args.topic))?;
            let topic = details.first().with_context(|| format!("topic {} does not exist", args.topic))?;
            let mut tpl = TopicPartitionList::new();
            for p in &topic.partitions {
                if !args.partitions.is_empty() && !args.partitions.contains(&p.partition) {
                    continue;
                }
                let start = match args.offset {
                    StartAt::Start => p.log_start_offset,
                    StartAt::End => p.high_watermark,
                    StartAt::Offset(n) => n,
                };
                tpl.add_partition_offset(&args.topic, p.partition, Offset::Offset(start))?;
                if p.high_watermark > start {
                    ends.insert(p.partition, p.high_watermark);
                }
            }
            anyhow::ensure!(tpl.count() > 0, "topic {} has none of the partitions {:?}", args.topic, args.partitions);
            c.assign(&tpl)?;
            c
        }
    };
    let mut printed = 0;
    // Per partition, one past the last record printed: what a group commits.
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let mut last_commit = Instant::now();
    let commit = |next: &BTreeMap<i32, i64>| -> anyhow::Result<()> {
        if args.group.is_none() || next.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in next {
            tpl.add_partition_offset(&args.topic, p, Offset::Offset(o))?;
        }
        consumer.commit(&tpl, CommitMode::Sync).context("cannot commit the group's offsets")
    };
    let mut idle_since = Instant::now();
    while !stop.load(Ordering::Relaxed) && args.num.is_none_or(|n| printed < n) && !(args.exit && ends.is_empty()) {
        if last_commit.elapsed() >= Duration::from_secs(1) {
            commit(&next)?;
            last_commit = Instant::now();
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                idle_since = Instant::now();
                next.insert(m.partition(), m.offset() + 1);
                if ends.get(&m.partition()).is_some_and(|end| m.offset() + 1 >= *end) {
                    ends.remove(&m.partition());
                }
                if filter.as_ref().is_some_and(|f| !f.matches(&records::view(&m))) {
                    continue;
                }
                if args.decode {
                    let record = super::tail::record_to_json(&m);
                    match args.format {
                        OutputFormat::Json => writeln!(out, "{record}")?,
                        OutputFormat::Text => writeln!(out, "{}", serde_json::to_string_pretty(&record)?)?,
                    }
                } else {
                    let headers = m
                        .headers()
                        .map(|hs| {
                            hs.iter()
                                .map(|h| ConsumedHeader { key: h.key, value: h.value.map(String::from_utf8_lossy) })
                                .collect()
                        })
                        .unwrap_or_default();
                    let record = ConsumedRecord {
                        topic: m.topic(),
                        key: m.key().map(String::from_utf8_lossy),
                        value: m.payload().map(String::from_utf8_lossy),
                        headers,
                        timestamp: m.timestamp().to_millis().unwrap_or(-1),
                        partition: m.partition(),
                        offset: m.offset(),
                    };
                    match args.format {
                        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&record)?)?,
                        OutputFormat::Text => writeln!(out, "{}", serde_json::to_string_pretty(&record)?)?,
                    }
                }
                printed += 1;
            }
            Some(Err(e)) => tracing::warn!(error = %e, "consumer error"),
            None if args.exit && idle_since.elapsed() > Duration::from_secs(10) => {
                anyhow::bail!("no records arrived for 10 s before the end of {}", args.topic)
            }
            None => {}
        }
    }
    commit(&next)?;
    Ok(printed)
}
