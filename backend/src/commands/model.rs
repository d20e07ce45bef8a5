//! `streamlab model train | profile | eval | info`, and loading the model the other commands
//! serve.

use crate::cli::ModelCommand;
use crate::shutdown::Shutdown;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use streamlab_model::Artifact;
use streamlab_model::profile::DataProfile;
use streamlab_model::train::{self, Stage};

/// Training takes minutes and cannot stop half-way; Ctrl-C ends the command without writing.
pub async fn run(command: ModelCommand, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let work = tokio::task::spawn_blocking(move || match command {
        ModelCommand::Train { data, out } => train(&data, &out),
        ModelCommand::Profile { data, out } => profile(&data, &out),
        ModelCommand::Eval { data, model } => eval(&data, model.as_ref()),
        ModelCommand::Info { model } => info(model.as_ref()),
    });
    tokio::select! {
        done = work => done??,
        _ = shutdown.wait() => anyhow::bail!("interrupted"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The model at `path`, or the one built into the binary.
pub fn load(path: Option<&Path>) -> anyhow::Result<Artifact> {
    Ok(match path {
        Some(p) => Artifact::load(p)?,
        None => Artifact::shipped().context("the model built into this binary is unreadable")?,
    })
}

/// Trains, prints the evaluation table and writes the artifact and, beside it, the data
/// profile the request generator draws from.
pub fn train(data: &Path, out: &Path) -> anyhow::Result<()> {
    let params = train::shipped_params();
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{msg:<22} [{bar:30}] {pos}/{len} {elapsed}").expect("valid template"));
    let artifact = train::train(data, params, |stage| match stage {
        Stage::Fit { done, total } => {
            bar.set_message("training trees");
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        Stage::CrossValidate { done, total } => {
            bar.set_message("5-fold cross-validation");
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    })?;
    bar.finish_and_clear();
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    artifact.save(out)?;
    let profile_path = out.with_file_name("profile.json");
    profile(data, &profile_path)?;
    println!("{}", artifact.describe());
    println!("wrote {} ({} bytes) and {}", out.display(), std::fs::metadata(out)?.len(), profile_path.display());
    Ok(())
}

/// Writes the data profile of `data` to `out`.
pub fn profile(data: &Path, out: &Path) -> anyhow::Result<()> {
    let profile = DataProfile::from_csv(data)?;
    std::fs::write(out, serde_json::to_string_pretty(&profile)? + "\n")
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote the data profile of {} ({} combinations) to {}",
        data.display(),
        profile.combinations.len(),
        out.display()
    );
    Ok(())
}

pub fn eval(data: &Path, model: Option<&PathBuf>) -> anyhow::Result<()> {
    let artifact = load(model.map(PathBuf::as_path))?;
    let metrics = train::evaluate(&artifact, data)?;
    println!("model {} on the held-out 20 % of {}:\n", artifact.version(), data.display());
    println!("{}", metrics.table());
    if metrics != artifact.card.holdout {
        println!("note: these differ from the model card's figures; was it trained on another file?");
    }
    Ok(())
}

pub fn info(model: Option<&PathBuf>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let artifact = load(model.map(PathBuf::as_path))?;
    let loaded = started.elapsed();
    println!("{}", artifact.describe());
    println!("loaded in {:.1} ms", loaded.as_secs_f64() * 1e3);
    Ok(())
}
