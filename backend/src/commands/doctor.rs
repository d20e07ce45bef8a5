//! `streamlab doctor`: why a client sees nothing — the bootstrap address, the advertised
//! one, the topics, a group's offsets, then the Python the exercises use — each ok or what
//! to do. Exit 0 when all are ok.

use crate::kafka::KafkaConfig;
use crate::kafka::doctor::{Questions, diagnose, render};
use crate::kafka::python;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// A consumer group that sees nothing: its committed offsets against the end.
    #[arg(long, short = 'g')]
    pub group: Option<String>,
    /// A topic that should have records.
    #[arg(long, short = 't')]
    pub topic: Option<String>,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
    /// The Python the exercises run with: it must import kafka-python and fastavro and reach
    /// the broker.
    #[arg(long, env = "STREAMLAB_PYTHON", default_value = "python3", value_name = "INTERPRETER")]
    pub python: String,
    /// Check the cluster only, not Python (a grading script's readiness check).
    #[arg(long)]
    pub no_python: bool,
}

pub async fn run(args: DoctorArgs, kafka: KafkaConfig) -> anyhow::Result<ExitCode> {
    let questions = Questions { group: args.group.clone(), topic: args.topic.clone(), visible: None };
    let k = kafka.clone();
    let (python, skip) = (args.python.clone(), args.no_python);
    let checks = tokio::task::spawn_blocking(move || {
        let mut checks = diagnose(&k, &questions);
        if !skip {
            // One broker of several down, or copies out of sync: clients still connect.
            let broker_ok = checks.iter().any(|c| c.name == "bootstrap" && c.ok)
                && checks.iter().filter(|c| c.name != "bootstrap" && c.name != "replication").all(|c| c.ok);
            checks.extend(python::checks(&python, &k.bootstrap, broker_ok));
        }
        checks
    })
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        println!("Checking the Kafka cluster at {} as a client would.\n", kafka.bootstrap);
        print!("{}", render(&checks));
        if checks.iter().all(|c| c.ok) {
            println!("\nA Python client connects with:\n\n{}", python_snippet(&kafka.bootstrap, args.topic.as_deref()));
        }
    }
    Ok(if checks.iter().all(|c| c.ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// A consumer a student can paste, for this bootstrap string.
pub fn python_snippet(bootstrap: &str, topic: Option<&str>) -> String {
    let topic = topic.unwrap_or(streamlab_wire::topics::PREDICTIONS);
    format!(
        "from kafka import KafkaConsumer\n\
         consumer = KafkaConsumer(\"{topic}\", bootstrap_servers=\"{bootstrap}\", auto_offset_reset=\"earliest\",\n\
         \x20                        fetch_max_wait_ms=20)  # records within ms on the lab's broker\n\
         for record in consumer:\n    print(record.value)\n"
    )
}
