//! One module per command of the `streamlab` binary. Each has `run(args, .., shutdown)`:
//! it reads its flags (from [`crate::cli`]), builds what it needs from the layers below
//! (`kafka`, `inference`, `load`, `exercises`, `web`) and returns when its work is done or
//! the shutdown is triggered. Only commands print for a person to read.
//!
//! - [`lab`]: `streamlab` alone, the whole lab (broker, inference, web).
//! - [`infer`]: `streamlab infer`, the inference service alone.
//! - [`datagen`]: `streamlab datagen`, the course's request generator.
//! - [`experiment`]: `streamlab experiment`, the course's experiment producer.
//! - [`tail`]: `streamlab tail TOPIC`, records as JSON lines.
//! - [`cluster`], [`topic`] and [`group`]: the `rpk cluster`, `rpk topic` and `rpk group`
//!   steps of the course, with rpk's output shapes ([`table`]).
//! - [`check`]: `streamlab check`, the exercise checker.
//! - [`model`]: `streamlab model train | profile | eval | info`.
//! - [`doctor`]: `streamlab doctor`, why a client sees nothing.
//! - [`class`]: `streamlab class tokens`, the students' sign-in tokens.

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

use crate::cli::{ClassCommand, Cli, Command};
use crate::shutdown::Shutdown;
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;

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
        Some(Command::Class(ClassCommand::Tokens(args))) => class::tokens(args),
        Some(Command::Class(ClassCommand::Acls(args))) => class::acls(args),
    }
}

/// Reads a roster file: one student name per line.
fn read_roster(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the roster {}", path.display()))?;
    Ok(crate::exercises::read_roster(&path.display().to_string(), &text)?)
}
