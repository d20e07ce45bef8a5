//! `streamlab check`: the exercises' conditions against the cluster, for one student, a
//! roster or nobody in particular. Exit code 0 only when every condition passed.

use crate::exercises::check::{self, Checker};
use crate::exercises::conditions::FailureDetails;
use crate::exercises::{Catalog, Language, Namespace, load_roster};
use crate::kafka::KafkaConfig;
use crate::kafka::connect::Connect;
use crate::shutdown::Shutdown;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use streamlab_wire::ClassReport;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The exercise: its number (3), folder (03-delivery-callbacks) or name
    /// (delivery-callbacks). Default: every exercise.
    pub exercise: Option<String>,
    /// Check this student's namespace: topics and groups prefixed with `NAME.`.
    #[arg(long, env = "STREAMLAB_STUDENT")]
    pub student: Option<String>,
    /// Check every student of this file (one name per line, `#` comments).
    #[arg(long, value_name = "FILE", conflicts_with = "student")]
    pub roster: Option<PathBuf>,
    /// Print the report as JSON (the shape README.md documents) instead of text.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the grade book as CSV: a row per student, the points of each exercise, the
    /// total and the most possible.
    #[arg(long)]
    pub csv: bool,
    /// How much a failed check tells: `full`, `actual-only` (never the expected answer) or
    /// `none` (the failure message and hint only).
    #[arg(long, env = "STREAMLAB_FAILURE_DETAILS", default_value = "full", value_parser = crate::cli::failure_details())]
    pub failure_details: FailureDetails,
    /// List the exercises and their conditions, and check nothing.
    #[arg(long)]
    pub list: bool,
    /// The language of the exercises' texts: `en`, or `de` (German, where an exercise has
    /// it: those of seed 000). What the checker saw is said in English.
    #[arg(long, env = "STREAMLAB_LANG", default_value = "en", value_parser = ["en", "de"])]
    pub lang: String,
    /// Read the exercises from DIR instead of the ones built in.
    #[arg(long, env = "STREAMLAB_EXERCISES", value_name = "DIR")]
    pub exercises: Option<PathBuf>,
    /// The Kafka Connect worker's REST API, for the Connect exercise (`./lab connect start`
    /// serves it on this address).
    #[arg(long, env = "STREAMLAB_CONNECT_URL", default_value = crate::kafka::connect::DEFAULT_URL, value_name = "URL")]
    pub connect_url: String,
}

pub async fn run(args: CheckArgs, kafka: KafkaConfig, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let language = if args.lang == "de" { Language::German } else { Language::English };
    let catalog = Arc::new(Catalog::load(args.exercises.as_deref())?.in_language(language));
    if args.list {
        for e in &catalog.exercises {
            println!("{:2}. {} ({})  — from {}", e.info.number, e.info.title, e.info.id, e.info.seed);
            for c in &e.conditions {
                println!("      {}: {}", c.id, c.description);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let students: Vec<Option<String>> = match &args.roster {
        Some(path) => load_roster(path)?.into_iter().map(Some).collect(),
        None => vec![Namespace::student(args.student.as_deref())?.name().map(str::to_owned)],
    };
    if let Some(name) = &args.exercise {
        catalog.find(name)?;
    }
    let checker =
        Checker::new(kafka, catalog).with_details(args.failure_details).with_connect(Connect::new(&args.connect_url));
    let class = tokio::select! {
        class = grade(&checker, &students, args.exercise.as_deref()) => class?,
        _ = shutdown.wait() => anyhow::bail!("interrupted before every exercise was checked"),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&class)?);
    } else if args.csv {
        print!("{}", check::csv(&class));
    } else {
        for s in &class.students {
            for r in &s.exercises {
                print!("{}", check::render(r));
            }
        }
        if class.students.len() > 1 {
            print!("\n{}", check::render_class(&class));
        }
    }
    let all = class.students.iter().all(|s| s.exercises.iter().all(|r| r.passed));
    Ok(if all { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Grades the students (several at a time, see [`Checker::grade`]), saying on stderr who
/// has been checked when there are several.
async fn grade(checker: &Checker, students: &[Option<String>], exercise: Option<&str>) -> anyhow::Result<ClassReport> {
    let (total, mut checked) = (students.len(), 0);
    let class = checker
        .grade_each(students, exercise, |report| {
            checked += 1;
            if total > 1 {
                eprintln!("checked {} ({checked}/{total})", report.student.as_deref().unwrap_or("-"));
            }
        })
        .await?;
    Ok(class)
}
