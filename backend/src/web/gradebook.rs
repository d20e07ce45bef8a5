//! The classroom's grade book: every roster student × every exercise, kept current.
//!
//! A student's results are checked again only when her topics or groups changed: the
//! sampler's once-a-second reading of every topic's watermarks and every group's members and
//! committed offsets says so, at no cost to the broker. A class that is not working costs no
//! check at all, and one student's work re-checks that student, not the class.
//! [`Gradebook::run`] keeps it current in the background and publishes each new grade book,
//! which the teacher's classroom page gets over its websocket.

use crate::exercises::CatalogError;
use crate::exercises::check::Checker;
use crate::shutdown::Shutdown;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use streamlab_wire::{ClassReport, GroupInfo, Outcome, StudentReport, TopicInfo, in_namespace};
use tokio::sync::watch;

/// How often a watched grade book is brought up to date: the sampler's period.
const REFRESH: Duration = Duration::from_secs(1);

pub struct Gradebook {
    checker: Checker,
    roster: Arc<Vec<String>>,
    topics: watch::Receiver<Vec<TopicInfo>>,
    groups: watch::Receiver<Vec<GroupInfo>>,
    /// Per student: what her topics and groups looked like, and her report then. Held only
    /// to read and store, never across a check.
    kept: std::sync::Mutex<HashMap<String, (u64, StudentReport)>>,
    /// Held through a class's grading run: requests for the grade book that arrive during a
    /// run wait for it, then find its reports kept.
    grading: tokio::sync::Mutex<()>,
    published: watch::Sender<Option<ClassReport>>,
}

impl Gradebook {
    pub fn new(
        checker: Checker,
        roster: Arc<Vec<String>>,
        topics: watch::Receiver<Vec<TopicInfo>>,
        groups: watch::Receiver<Vec<GroupInfo>>,
    ) -> Gradebook {
        Gradebook {
            checker,
            roster,
            topics,
            groups,
            kept: Default::default(),
            grading: Default::default(),
            published: watch::channel(None).0,
        }
    }

    /// The grade book now: the students whose topics or groups changed since their last
    /// check (or whose check could not finish) are checked again, the others kept.
    pub async fn current(&self) -> Result<ClassReport, CatalogError> {
        let _run = self.grading.lock().await;
        // Read before the checks: what changes while they run shows in the next reading.
        let prints: HashMap<String, u64> = {
            let (topics, groups) = (self.topics.borrow(), self.groups.borrow());
            self.roster.iter().map(|s| (s.clone(), fingerprint(s, &topics, &groups))).collect()
        };
        let stale: Vec<Option<String>> = {
            let kept = self.kept.lock().expect("grade book lock");
            self.roster
                .iter()
                .filter(|s| kept.get(*s).is_none_or(|(print, report)| *print != prints[*s] || unsettled(report)))
                .map(|s| Some(s.clone()))
                .collect()
        };
        if !stale.is_empty() {
            // Each report is kept as soon as it is ready: a student asking for her progress
            // during a long run finds hers.
            self.checker
                .grade_each(&stale, None, |report| {
                    let name = report.student.clone().unwrap_or_default();
                    let print = prints.get(&name).copied().unwrap_or_default();
                    self.kept.lock().expect("grade book lock").insert(name, (print, report.clone()));
                })
                .await?;
        }
        let class = {
            let kept = self.kept.lock().expect("grade book lock");
            ClassReport { students: self.roster.iter().filter_map(|s| kept.get(s).map(|(_, r)| r.clone())).collect() }
        };
        self.published.send_if_modified(|old| {
            let changed = old.as_ref().is_none_or(|o| !same_results(o, &class));
            if changed {
                *old = Some(class.clone());
            }
            changed
        });
        Ok(class)
    }

    /// One student's report, for her exercises page: checked again only when her topics or
    /// groups changed since her last check (hers or the class's). `None` for a name not on
    /// the roster, whose reports are not kept.
    pub async fn student(&self, name: &str) -> Option<Result<StudentReport, CatalogError>> {
        if !self.roster.iter().any(|s| s == name) {
            return None;
        }
        let print = fingerprint(name, &self.topics.borrow(), &self.groups.borrow());
        if let Some((p, report)) = self.kept.lock().expect("grade book lock").get(name)
            && *p == print
            && !unsettled(report)
        {
            return Some(Ok(report.clone()));
        }
        let graded = self.checker.grade(&[Some(name.to_owned())], None).await;
        Some(graded.map(|class| {
            let report = class.students.into_iter().next().expect("one student asked, one report");
            self.kept.lock().expect("grade book lock").insert(name.to_owned(), (print, report.clone()));
            report
        }))
    }

    /// The grade book as it changes, for a teacher's socket: the newest one (if any run has
    /// ended), then each one whose results differ.
    pub fn watch(&self) -> watch::Receiver<Option<ClassReport>> {
        self.published.subscribe()
    }

    /// Keeps the grade book current in the background while the lab has a roster: the
    /// teacher's page gets each change pushed, and a student's progress is usually already
    /// checked when she asks for it. A class that is not working costs a fingerprint per
    /// student a second.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        loop {
            if !self.roster.is_empty()
                && let Err(e) = self.current().await
            {
                tracing::warn!("the grade book could not be brought up to date: {e}");
            }
            tokio::select! {
                _ = tokio::time::sleep(REFRESH) => {}
                _ = shutdown.wait() => return,
            }
        }
    }
}

/// What the checks of `student` can see: her topics' watermarks and her groups' state,
/// members and committed offsets. Equal fingerprints, equal results.
pub fn fingerprint(student: &str, topics: &[TopicInfo], groups: &[GroupInfo]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // Not the registry's `_schemas`: it is the whole class's, and one student's schema would
    // make every student's results be checked again. Exercise 15's registrations come with
    // records on her own topics (the serializer registers as it produces), which count here.
    for t in topics.iter().filter(|t| in_namespace(student, &t.name)) {
        t.name.hash(&mut h);
        for p in &t.partitions {
            (p.id, p.low, p.high).hash(&mut h);
        }
    }
    for g in groups.iter().filter(|g| in_namespace(student, &g.group)) {
        (&g.group, &g.state).hash(&mut h);
        for m in &g.members {
            m.member_id.hash(&mut h);
        }
        for o in &g.offsets {
            (&o.topic, o.partition, o.committed).hash(&mut h);
        }
    }
    h.finish()
}

/// A report with a condition that timed out, failed to run or never ran says nothing about
/// the student's work: check her again.
fn unsettled(report: &StudentReport) -> bool {
    report
        .exercises
        .iter()
        .flat_map(|e| &e.results)
        .any(|r| matches!(r.outcome, Outcome::Error | Outcome::Timeout | Outcome::Pending))
}

/// Whether two grade books say the same, whenever they were checked.
fn same_results(a: &ClassReport, b: &ClassReport) -> bool {
    let outcomes = |c: &ClassReport| -> Vec<(Option<String>, String, Outcome, Option<String>)> {
        c.students
            .iter()
            .flat_map(|s| {
                s.exercises.iter().flat_map(move |e| {
                    e.results.iter().map(move |r| (s.student.clone(), e.exercise.clone(), r.outcome, r.message.clone()))
                })
            })
            .collect()
    };
    outcomes(a) == outcomes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamlab_wire::{GroupMember, GroupOffset, PartitionInfo};

    fn topic(name: &str, high: i64) -> TopicInfo {
        TopicInfo { name: name.into(), partitions: vec![PartitionInfo { id: 0, low: 0, high }], messages: high }
    }

    #[test]
    fn only_a_students_own_topics_and_groups_change_her_fingerprint() {
        let topics = vec![topic("alice.numbers", 3), topic("bob.numbers", 3), topic("mushroom_prediction", 9)];
        let before = fingerprint("alice", &topics, &[]);
        let others = vec![topic("alice.numbers", 3), topic("bob.numbers", 4), topic("mushroom_prediction", 99)];
        assert_eq!(fingerprint("alice", &others, &[]), before, "bob's work and the lab's do not touch alice's");
        let hers = vec![topic("alice.numbers", 4), topic("bob.numbers", 3)];
        assert_ne!(fingerprint("alice", &hers, &[]), before);
        let group = |members: usize, committed: Option<i64>| GroupInfo {
            group: "alice.readers".into(),
            state: "Stable".into(),
            members: (0..members)
                .map(|i| GroupMember {
                    member_id: format!("m{i}"),
                    client_id: String::new(),
                    host: String::new(),
                    assignment: Vec::new(),
                })
                .collect(),
            offsets: vec![GroupOffset { topic: "alice.numbers".into(), partition: 0, committed, end: 3, lag: None }],
        };
        let one = fingerprint("alice", &topics, &[group(1, Some(2))]);
        assert_ne!(one, before);
        assert_ne!(fingerprint("alice", &topics, &[group(2, Some(2))]), one, "a second consumer joined");
        assert_ne!(fingerprint("alice", &topics, &[group(1, Some(3))]), one, "a commit");
        assert_eq!(fingerprint("alice", &topics, &[group(1, Some(2))]), one);
    }
}
