//! The class's rights on a cluster that checks them: a SCRAM user per student (her class
//! token as password) and ACLs that give her everything on topics and groups named
//! `NAME.*` and reading of the lab's topics, nothing else.
//!
//! [`apply`] makes the cluster so and changes nothing that already is: a second run changes
//! nothing, a student who left the roster loses her user and her ACLs, a password that no
//! longer signs in (a new class secret) is set again. A former student is known by the ACL
//! this module gives every student (all on topics `NAME.*`); users and ACLs of anyone else
//! (the teacher, other courses) are never touched.

use crate::exercises::class::Class;
use crate::kafka::KafkaConfig;
use crate::kafka::security::{self, Acl, Operation, SecurityError};
use std::collections::{BTreeMap, BTreeSet};

/// The ACLs `student` has in a class whose lab topics are `lab_topics`.
pub fn student_acls(student: &str, lab_topics: &[String]) -> BTreeSet<Acl> {
    let prefix = format!("{student}.");
    let mut acls = BTreeSet::from([
        Acl::allow(student, false, &prefix, true, Operation::All),
        Acl::allow(student, true, &prefix, true, Operation::All),
    ]);
    for topic in lab_topics {
        for op in [Operation::Read, Operation::Describe] {
            acls.insert(Acl::allow(student, false, topic, false, op));
        }
    }
    acls
}

/// The student an ACL marks as one of a class (see the module's doc), if any.
fn marked_student(acl: &Acl) -> Option<&str> {
    let user = acl.principal.strip_prefix("User:")?;
    let mark = Acl::allow(user, false, &format!("{user}."), true, Operation::All);
    (*acl == mark).then_some(user)
}

/// What a student's user needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    Create,
    /// Her password does not sign in: set it again.
    Reset,
    Keep,
    Remove,
}

/// What applying the class changes on the cluster, per student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentChange {
    pub student: String,
    pub user: UserChange,
    pub add: Vec<Acl>,
    pub remove: Vec<Acl>,
}

impl StudentChange {
    pub fn changes_nothing(&self) -> bool {
        self.user == UserChange::Keep && self.add.is_empty() && self.remove.is_empty()
    }
}

/// The changes that make the cluster hold `roster`'s rights, given its users, its ACLs and
/// whether each existing student's password signs in. Pure: the caller reads and writes.
pub fn plan(
    roster: &[String],
    lab_topics: &[String],
    users: &[String],
    acls: &[Acl],
    signs_in: impl Fn(&str) -> bool,
) -> Vec<StudentChange> {
    let mut held: BTreeMap<&str, BTreeSet<&Acl>> = BTreeMap::new();
    for acl in acls {
        if let Some(user) = acl.principal.strip_prefix("User:") {
            held.entry(user).or_default().insert(acl);
        }
    }
    let former: BTreeSet<&str> =
        acls.iter().filter_map(marked_student).filter(|s| !roster.iter().any(|r| r == s)).collect();
    let mut changes = Vec::new();
    for student in roster {
        let want = student_acls(student, lab_topics);
        let has = held.get(student.as_str()).cloned().unwrap_or_default();
        let user = if !users.contains(student) {
            UserChange::Create
        } else if signs_in(student) {
            UserChange::Keep
        } else {
            UserChange::Reset
        };
        changes.push(StudentChange {
            student: student.clone(),
            user,
            add: want.iter().filter(|a| !has.contains(a)).cloned().collect(),
            remove: has.iter().filter(|a| !want.contains(**a)).map(|a| (*a).clone()).collect(),
        });
    }
    for student in former {
        changes.push(StudentChange {
            student: student.to_owned(),
            user: if users.iter().any(|u| u == student) { UserChange::Remove } else { UserChange::Keep },
            add: Vec::new(),
            remove: held.get(student).map(|h| h.iter().map(|a| (*a).clone()).collect()).unwrap_or_default(),
        });
    }
    changes
}

/// Reads the cluster's users and ACLs, and makes them hold `class`'s rights (see the
/// module's doc). What changed, per student of the roster and per former student. Blocking:
/// it signs in once as each existing student, a few at a time.
pub fn apply(kafka: &KafkaConfig, class: &Class, lab_topics: &[String]) -> Result<Vec<StudentChange>, SecurityError> {
    let acls = security::acls(kafka)?;
    let users = security::users(kafka)?;
    let password = |s: &str| class.token(s, None).expect("no last day: a token always derives");
    let existing: Vec<&String> = class.roster().iter().filter(|s| users.contains(s)).collect();
    let signing_in: BTreeMap<String, bool> = std::thread::scope(|scope| {
        existing
            .chunks(existing.len().div_ceil(8).max(1))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|s| ((*s).clone(), security::signs_in(kafka, s, &password(s)).unwrap_or(false)))
                        .collect::<Vec<_>>()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let changes = plan(class.roster(), lab_topics, &users, &acls, |s| signing_in.get(s).copied().unwrap_or(false));
    let passwords: Vec<(String, Option<String>)> = changes
        .iter()
        .filter_map(|c| match c.user {
            UserChange::Create | UserChange::Reset => Some((c.student.clone(), Some(password(&c.student)))),
            UserChange::Remove => Some((c.student.clone(), None)),
            UserChange::Keep => None,
        })
        .collect();
    for (user, outcome) in security::alter_users(kafka, &passwords)? {
        if let Err(why) = outcome {
            return Err(SecurityError::Broker("change its users", format!("{user}: {why}")));
        }
    }
    let add: Vec<Acl> = changes.iter().flat_map(|c| c.add.iter().cloned()).collect();
    let remove: Vec<Acl> = changes.iter().flat_map(|c| c.remove.iter().cloned()).collect();
    security::change_acls(kafka, &add, &remove)?;
    Ok(changes)
}

/// One line of what [`apply`] did, for the lab's log.
pub fn summary(changes: &[StudentChange]) -> String {
    let count = |u: UserChange| changes.iter().filter(|c| c.user == u).count();
    let added: usize = changes.iter().map(|c| c.add.len()).sum();
    let removed: usize = changes.iter().map(|c| c.remove.len()).sum();
    if changes.iter().all(StudentChange::changes_nothing) {
        return format!("all {} students' users and ACLs were already in place", changes.len());
    }
    format!(
        "{} users created, {} passwords set again, {} users removed; {added} ACLs created, {removed} removed",
        count(UserChange::Create),
        count(UserChange::Reset),
        count(UserChange::Remove)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Vec<String> {
        vec!["mushroom_prediction".to_owned()]
    }

    #[test]
    fn a_new_student_gets_a_user_her_prefix_and_reading_of_the_lab_topics() {
        let changes = plan(&["alice".to_owned()], &lab(), &[], &[], |_| true);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].user, UserChange::Create);
        let add: Vec<String> = changes[0].add.iter().map(ToString::to_string).collect();
        assert_eq!(
            add,
            [
                "allow User:alice All on topic alice.*",
                "allow User:alice Read on topic mushroom_prediction",
                "allow User:alice Describe on topic mushroom_prediction",
                "allow User:alice All on group alice.*",
            ]
        );
        assert!(changes[0].remove.is_empty());
    }

    #[test]
    fn a_second_run_changes_nothing_and_a_student_who_left_loses_her_rights() {
        let both = ["alice".to_owned(), "bob".to_owned()];
        let mut acls: Vec<Acl> = both.iter().flat_map(|s| student_acls(s, &lab())).collect();
        let teacher = Acl::allow("teacher", false, "mushroom_prediction", false, Operation::All);
        acls.push(teacher.clone());
        let users = ["alice".to_owned(), "bob".to_owned(), "teacher".to_owned()];
        let again = plan(&both, &lab(), &users, &acls, |_| true);
        assert!(again.iter().all(StudentChange::changes_nothing), "{again:?}");

        let left = plan(&["alice".to_owned()], &lab(), &users, &acls, |_| true);
        assert_eq!(left.len(), 2);
        let bob = &left[1];
        assert_eq!((bob.student.as_str(), bob.user), ("bob", UserChange::Remove));
        assert_eq!(bob.remove.len(), 4);
        assert!(left.iter().all(|c| !c.remove.contains(&teacher)), "the teacher's ACL stays");
        assert!(left.iter().all(|c| c.student != "teacher"), "a user without the class's mark is not a student");
    }

    #[test]
    fn a_password_that_no_longer_signs_in_is_set_again_and_stray_rights_go() {
        let mut acls: Vec<Acl> = student_acls("alice", &lab()).into_iter().collect();
        let stray = Acl::allow("alice", false, "bob.", true, Operation::Read);
        acls.push(stray.clone());
        let changes = plan(&["alice".to_owned()], &lab(), &["alice".to_owned()], &acls, |_| false);
        assert_eq!(changes[0].user, UserChange::Reset);
        assert_eq!(changes[0].remove, [stray]);
        assert!(changes[0].add.is_empty());
    }
}
