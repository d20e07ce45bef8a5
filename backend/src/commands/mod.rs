//! One module per command of the `streamlab` binary, its flags beside it ([`crate::cli`]
//! has the ones several share). Each has `run(args, .., shutdown)`: it builds what it needs
//! from the layers below and returns when its work is done or the shutdown is triggered.
//! Only commands print for a person to read. [`Cli`] is the whole command line.
//!
//! - [`lab`]: `streamlab` alone, the whole lab ([`crate::lab`]: broker, inference, web).
//! - [`infer`]: `streamlab infer`, the inference service alone.
//! - [`datagen`]: `streamlab datagen`, the course's request generator.
//! - [`experiment`]: `streamlab experiment`, the course's experiment producer.
//! - [`tail`]: `streamlab tail TOPIC`, records as JSON lines.
//! - [`cluster`], [`topic`] and [`group`]: the `rpk cluster`, `rpk topic` and `rpk group`
//!   steps of the course, with rpk's output shapes ([`table`]).
//! - [`check`]: `streamlab check`, the exercise checker.
//! - [`model`]: `streamlab model train | profile | eval | info`.
//! - [`doctor`]: `streamlab doctor`, why a client sees nothing.
//! - [`class`]: `streamlab class tokens | acls`, the students' sign-in tokens and rights.

pub mod check;
pub mod class;
pub mod cluster;
pub mod datagen;
pub mod doctor;
pub mod experiment;
pub mod group;
pub mod infer;
pub mod lab;
pub mod model;
pub mod table;
pub mod tail;
pub mod topic;

use crate::cli::{InferArgs, KafkaArgs, LabArgs};
use crate::shutdown::Shutdown;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "streamlab",
    version,
    about = "Real-time mushroom inference on Kafka and a browser lab for teaching streaming."
)]
pub struct Cli {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub lab: LabArgs,
    #[command(flatten)]
    pub inference: InferArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the inference service alone against a cluster (default: the lab's broker at
    /// 127.0.0.1:9092). Start several: they share the partitions of the request topic.
    Infer {
        #[command(flatten)]
        args: InferArgs,
        /// Where GET /metrics (Prometheus text) is served.
        #[arg(long, env = "STREAMLAB_METRICS_ADDR", default_value = "127.0.0.1:9464")]
        metrics_addr: SocketAddr,
    },
    /// The course's mushroom request generator: valid requests drawn from the data profile.
    Datagen(datagen::DatagenArgs),
    /// The course's experiment load producer: temperature experiments as Avro records.
    Experiment(experiment::ExperimentArgs),
    /// Print a topic's records as JSON lines, decoded: the short form of `topic consume
    /// --format json --decode`.
    Tail(tail::TailArgs),
    /// The cluster: `streamlab cluster info`, like `rpk cluster info`.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Topics, like `rpk topic`: create, list, describe, delete, produce, consume.
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Consumer groups, like `rpk group`: list, describe, seek.
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Train, evaluate or describe the mushroom model.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Check exercises against the cluster: each condition passes, fails, errs or times out.
    /// Exit code 0 only when every condition passed.
    Check(check::CheckArgs),
    /// Why a client sees nothing: can the bootstrap address be reached, does the address the
    /// broker advertises connect, which topics exist, where a group has committed. Exit code
    /// 0 only when every check is ok.
    Doctor(doctor::DoctorArgs),
    /// The class of `--roster`: its students' sign-in tokens, and their users and rights on a
    /// cluster that checks them.
    #[command(subcommand)]
    Class(class::ClassCommand),
}

/// Runs the command `cli` names (the lab when it names none).
pub async fn run(cli: Cli, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => lab::run(cli.lab, cli.inference, &cli.kafka, shutdown).await,
        Some(Command::Infer { args, metrics_addr }) => {
            infer::run(args, metrics_addr, cli.kafka.cluster(), shutdown).await
        }
        Some(Command::Datagen(args)) => datagen::run(args, cli.kafka.cluster(), shutdown).await,
        Some(Command::Experiment(args)) => experiment::run(args, &cli.kafka, shutdown).await,
        Some(Command::Tail(args)) => tail::run(args, cli.kafka.cluster(), shutdown).await,
        Some(Command::Cluster(command)) => cluster::run(command, cli.kafka.cluster()).await,
        Some(Command::Topic(command)) => topic::run(command, cli.kafka.cluster(), shutdown).await,
        Some(Command::Group(command)) => group::run(command, cli.kafka.cluster()).await,
        Some(Command::Check(args)) => check::run(args, cli.kafka.cluster(), shutdown).await,
        Some(Command::Model(args)) => model::run(args, shutdown).await,
        Some(Command::Doctor(args)) => doctor::run(args, cli.kafka.cluster()).await,
        Some(Command::Class(command)) => class::run(command, &cli.kafka).await,
    }
}
