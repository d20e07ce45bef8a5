//! Running an exercise's conditions in order, each within its time limit, and what comes
//! of it: a [`CheckReport`] per exercise and student, printed for people or as JSON.

use super::conditions::{DEFAULT_TIMEOUT_SECS, FailureDetails};
use super::probe::Probe;
use super::{Catalog, CatalogError, Exercise, Namespace, kinds};
use crate::kafka::KafkaConfig;
use crate::kafka::connect::{self, Connect};
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use streamlab_wire::export::csv_field;
use streamlab_wire::{CheckReport, ClassReport, ConditionResult, Outcome, StudentReport};

/// How many students a grade run checks at once: enough to keep the broker's answers
/// coming while others wait, few enough for a small machine's blocking threads.
const GRADE_AT_ONCE: usize = 8;

/// Checks exercises against one cluster.
#[derive(Clone)]
pub struct Checker {
    pub kafka: KafkaConfig,
    pub catalog: Arc<Catalog>,
    /// How much a failure message says; an exercise may say less (see [`FailureDetails`]).
    pub details: FailureDetails,
    /// The Kafka Connect worker the `connector` conditions read.
    pub connect: Connect,
}

impl Checker {
    pub fn new(kafka: KafkaConfig, catalog: Arc<Catalog>) -> Checker {
        Checker { kafka, catalog, details: FailureDetails::Full, connect: Connect::new(connect::DEFAULT_URL) }
    }

    pub fn with_details(self, details: FailureDetails) -> Checker {
        Checker { details, ..self }
    }

    pub fn with_connect(self, connect: Connect) -> Checker {
        Checker { connect, ..self }
    }

    /// What the lab shows before the first check ends: every condition pending.
    pub fn pending(exercise: &Exercise, student: &Namespace) -> CheckReport {
        let results = exercise
            .conditions
            .iter()
            .map(|c| ConditionResult {
                id: c.id.clone(),
                description: c.description.clone(),
                outcome: Outcome::Pending,
                message: None,
                detail: None,
                hint: None,
                elapsed_ms: 0,
                points: c.points,
            })
            .collect();
        CheckReport {
            exercise: exercise.info.id.clone(),
            title: exercise.info.title.clone(),
            student: student.name().map(str::to_owned),
            passed: false,
            points: 0,
            points_possible: exercise.conditions.iter().map(|c| c.points).sum(),
            results,
            checked_at_ms: 0,
        }
    }

    /// Checks every condition of `exercise` in `student`'s namespace, in order. A condition
    /// that does not end within its time limit is reported as a timeout and the next one
    /// starts; one check run reads each topic once.
    pub async fn check(&self, exercise: &Exercise, student: &Namespace) -> CheckReport {
        match self.probe().await {
            Ok(probe) => self.check_with(exercise, student, &probe).await,
            Err(message) => errored(Checker::pending(exercise, student), &message),
        }
    }

    async fn probe(&self) -> Result<Arc<Probe>, String> {
        let (kafka, connect) = (self.kafka.clone(), self.connect.clone());
        match tokio::task::spawn_blocking(move || Probe::new(&kafka).map(|p| p.with_connect(connect))).await {
            Ok(Ok(p)) => Ok(Arc::new(p)),
            Ok(Err(e)) => Err(format!("cannot reach the broker {}: {e}", self.kafka.bootstrap)),
            Err(e) => Err(format!("the check failed: {e}")),
        }
    }

    async fn check_with(&self, exercise: &Exercise, student: &Namespace, probe: &Arc<Probe>) -> CheckReport {
        let mut report = Checker::pending(exercise, student);
        let details = self.details.strictest(exercise.failure_details);
        for (condition, result) in exercise.conditions.iter().zip(report.results.iter_mut()) {
            let started = Instant::now();
            let limit = Duration::from_secs_f64(condition.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS));
            let run = {
                let (kind, ns, probe) = (condition.kind.clone(), student.clone(), probe.clone());
                tokio::task::spawn_blocking(move || kinds::evaluate(&kind, &ns, &probe))
            };
            let (outcome, detail) = match tokio::time::timeout(limit, run).await {
                Ok(Ok(Ok(found))) if found.holds => (Outcome::Pass, found.detail),
                Ok(Ok(Ok(found))) => (
                    Outcome::Fail,
                    match details {
                        FailureDetails::Full => found.detail,
                        FailureDetails::ActualOnly => found.seen_only.unwrap_or(found.detail),
                        FailureDetails::None => String::new(),
                    },
                ),
                Ok(Ok(Err(e))) => (Outcome::Error, e.to_string()),
                Ok(Err(e)) => (Outcome::Error, format!("the check failed: {e}")),
                Err(_) => (Outcome::Timeout, format!("no answer within {} s", limit.as_secs_f64())),
            };
            result.outcome = outcome;
            result.elapsed_ms = started.elapsed().as_millis() as u64;
            result.detail = (!detail.is_empty()).then(|| detail.clone());
            result.message = Some(match outcome {
                Outcome::Pass => detail,
                Outcome::Fail if detail.is_empty() => condition.failure.clone(),
                Outcome::Fail => format!("{} ({detail})", condition.failure),
                _ => format!("could not check: {detail}"),
            });
            result.hint = (outcome != Outcome::Pass).then(|| condition.hint.clone());
        }
        report.passed = report.results.iter().all(|r| r.outcome == Outcome::Pass);
        report.points = report.results.iter().filter(|r| r.outcome == Outcome::Pass).map(|r| r.points).sum();
        report.checked_at_ms = now_ms();
        report
    }

    /// Every exercise (or the one named) for each student. One view of the broker serves
    /// the whole grade book, so a topic every student's checks read (the lab's predictions,
    /// say) is read once, not once per student and exercise; and [`GRADE_AT_ONCE`]
    /// students are checked at a time, since a check mostly waits on the broker.
    pub async fn grade(&self, students: &[Option<String>], only: Option<&str>) -> Result<ClassReport, CatalogError> {
        self.grade_each(students, only, |_| {}).await
    }

    /// [`Checker::grade`], calling `done` with each student's report as it is ready, in
    /// the roster's order (for progress on a terminal).
    pub async fn grade_each(
        &self,
        students: &[Option<String>],
        only: Option<&str>,
        mut done: impl FnMut(&StudentReport),
    ) -> Result<ClassReport, CatalogError> {
        use futures::{StreamExt, stream};
        let exercises: Arc<Vec<Exercise>> = Arc::new(match only {
            Some(name) => vec![self.catalog.find(name)?.clone()],
            None => self.catalog.exercises.clone(),
        });
        let students = students
            .iter()
            .map(|s| Ok((s.clone(), Namespace::student(s.as_deref())?)))
            .collect::<Result<Vec<_>, CatalogError>>()?;
        let probe = Arc::new(self.probe().await);
        // Each student's future owns what it uses: the server's handlers must be `Send`
        // futures, which borrowed captures in a buffered stream cannot prove.
        let mut reports = stream::iter(students)
            .map(|(student, ns)| {
                let (checker, exercises, probe) = (self.clone(), exercises.clone(), probe.clone());
                async move {
                    let mut reports = Vec::new();
                    for e in exercises.iter() {
                        reports.push(match probe.as_ref() {
                            Ok(p) => checker.check_with(e, &ns, p).await,
                            Err(message) => errored(Checker::pending(e, &ns), message),
                        });
                    }
                    StudentReport {
                        student,
                        exercises_passed: reports.iter().filter(|r| r.passed).count(),
                        points: reports.iter().map(|r| r.points).sum(),
                        points_possible: reports.iter().map(|r| r.points_possible).sum(),
                        exercises: reports,
                    }
                }
            })
            .buffered(GRADE_AT_ONCE);
        let mut out = Vec::new();
        while let Some(report) = reports.next().await {
            done(&report);
            out.push(report);
        }
        Ok(ClassReport { students: out })
    }
}

fn errored(mut report: CheckReport, message: &str) -> CheckReport {
    for r in &mut report.results {
        r.outcome = Outcome::Error;
        r.message = Some(message.to_owned());
    }
    report.checked_at_ms = now_ms();
    report
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A report for a terminal: one line per condition, the message and hint under failures.
pub fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    let who = report.student.as_deref().map(|s| format!(" — {s}")).unwrap_or_default();
    let passed = report.results.iter().filter(|r| r.outcome == Outcome::Pass).count();
    let _ = writeln!(
        out,
        "{} {}{who}: {passed}/{} passed, {}/{} points",
        report.exercise,
        report.title,
        report.results.len(),
        report.points,
        report.points_possible
    );
    for r in &report.results {
        let mark = match r.outcome {
            Outcome::Pass => "pass   ",
            Outcome::Fail => "FAIL   ",
            Outcome::Error => "ERROR  ",
            Outcome::Timeout => "TIMEOUT",
            Outcome::Pending => "pending",
        };
        let _ = writeln!(out, "  {mark} {}", r.description);
        if let Some(m) = &r.message {
            let _ = writeln!(out, "          {m}");
        }
        if let Some(h) = &r.hint {
            let _ = writeln!(out, "          hint: {h}");
        }
    }
    out
}

/// A roster's grid for a terminal: students × exercises, passed conditions of each.
pub fn render_class(class: &ClassReport) -> String {
    let mut out = String::new();
    let Some(first) = class.students.first() else { return "no students\n".into() };
    let width = class.students.iter().map(|s| s.student.as_deref().unwrap_or("-").len()).max().unwrap_or(1).max(7);
    let _ = write!(out, "{:width$}", "student");
    for e in &first.exercises {
        let _ = write!(out, "  {:>5}", &e.exercise[..e.exercise.len().min(2)]);
    }
    let _ = writeln!(out, "  passed  points");
    for s in &class.students {
        let _ = write!(out, "{:width$}", s.student.as_deref().unwrap_or("-"));
        for e in &s.exercises {
            let ok = e.results.iter().filter(|r| r.outcome == Outcome::Pass).count();
            let _ = write!(out, "  {:>5}", format!("{ok}/{}", e.results.len()));
        }
        let _ = writeln!(
            out,
            "  {:>6}  {}/{}",
            format!("{}/{}", s.exercises_passed, s.exercises.len()),
            s.points,
            s.points_possible
        );
    }
    out
}

/// The grade book a spreadsheet or an LMS imports: one row per student, a column of points
/// per exercise, then the total and the most there were.
pub fn csv(class: &ClassReport) -> String {
    let mut out = String::from("student");
    if let Some(first) = class.students.first() {
        for e in &first.exercises {
            out.push(',');
            out.push_str(&csv_field(&e.exercise));
        }
    }
    out.push_str(",total,possible\n");
    for s in &class.students {
        out.push_str(&csv_field(s.student.as_deref().unwrap_or("")));
        for e in &s.exercises {
            let _ = write!(out, ",{}", e.points);
        }
        let _ = writeln!(out, ",{},{}", s.points, s.points_possible);
    }
    out
}
