//! `streamlab model train | profile | eval | info`, and loading the model the other commands
//! serve.

use crate::shutdown::Shutdown;
use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use streamlab_model::profile::DataProfile;
use streamlab_model::train::{self, Stage};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Train on the mushroom CSV, print the evaluation and write the artifact and data profile.
    Train {
        /// The data set (mushroom_cleaned.csv).
        #[arg(long, env = "STREAMLAB_DATA", value_name = "CSV")]
        data: PathBuf,
        /// Where to write the model; profile.json is written beside it.
        #[arg(long, value_name = "PATH", default_value = "model/artifacts/mushroom-forest.bin")]
        out: PathBuf,
    },
    /// Derive only the data profile the request generator draws from.
    Profile {
        #[arg(long, env = "STREAMLAB_DATA", value_name = "CSV")]
        data: PathBuf,
        #[arg(long, value_name = "PATH", default_value = "model/artifacts/profile.json")]
        out: PathBuf,
    },
    /// Re-evaluate a model on the held-out split of the CSV.
    Eval {
        #[arg(long, env = "STREAMLAB_DATA", value_name = "CSV")]
        data: PathBuf,
        /// A model file (default: the one built into streamlab).
        #[arg(long, env = "STREAMLAB_MODEL", value_name = "PATH")]
        model: Option<PathBuf>,
    },
    /// Print a model's card: version, training data, metrics.
    Info {
        #[arg(long, env = "STREAMLAB_MODEL", value_name = "PATH")]
        model: Option<PathBuf>,
    },
}

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
    let artifact = crate::cli::load_model(model.map(PathBuf::as_path))?;
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
    let artifact = crate::cli::load_model(model.map(PathBuf::as_path))?;
    let loaded = started.elapsed();
    println!("{}", artifact.describe());
    println!("loaded in {:.1} ms", loaded.as_secs_f64() * 1e3);
    Ok(())
}
