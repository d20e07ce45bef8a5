//! `streamlab check`: the exercises' conditions against the cluster, for one student, a
//! roster or nobody in particular. Exit code 0 only when every condition passed.

use crate::cli::CheckArgs;
use crate::exercises::check::{self, Checker};
use crate::exercises::{Catalog, Namespace};
use crate::kafka::KafkaConfig;
use crate::shutdown::Shutdown;
use std::process::ExitCode;
use std::sync::Arc;
use streamlab_wire::ClassReport;

pub async fn run(args: CheckArgs, kafka: KafkaConfig, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let catalog = Arc::new(Catalog::load(args.exercises.as_deref())?);
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
        Some(path) => super::read_roster(path)?.into_iter().map(Some).collect(),
        None => vec![Namespace::student(args.student.as_deref())?.name().map(str::to_owned)],
    };
    if let Some(name) = &args.exercise {
        catalog.find(name)?;
    }
    let checker = Checker::new(kafka, catalog).with_details(args.failure_details);
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

/// Grades one student after another, saying on stderr who is being checked when there are
/// several.
async fn grade(checker: &Checker, students: &[Option<String>], exercise: Option<&str>) -> anyhow::Result<ClassReport> {
    let mut class = ClassReport { students: Vec::new() };
    for (i, student) in students.iter().enumerate() {
        if students.len() > 1 {
            eprintln!("checking {} ({}/{})", student.as_deref().unwrap_or("-"), i + 1, students.len());
        }
        class.students.extend(checker.grade(std::slice::from_ref(student), exercise).await?.students);
    }
    Ok(class)
}
