//! Each group's committed offsets, kept in memory in step with the metadata store.
//!
//! The lab's sampler asks every group's committed offsets for every partition once a second.
//! With `--data-dir` the store is SQLite, and each partition was a query parsed and planned
//! anew: an idle lab spent a third of its CPU there with fifty groups (perf: SQLite's
//! `wherePathSolver`, its parser), and more with each group a class leaves behind. Every
//! commit passes through [`super::LogStorage`], so a group read once stays right until it
//! commits again, which forgets it.

use nisshi_storage::Topition;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub(super) struct CommittedOffsets {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    groups: HashMap<String, BTreeMap<Topition, i64>>,
    /// Counts the changes. A group read from the store while one happened may hold offsets
    /// from before it, so it is not kept.
    changes: u64,
}

impl CommittedOffsets {
    /// `topics`' committed offsets in `group` ([`answer`]), if kept.
    pub fn get(&self, group: &str, topics: &[Topition]) -> Option<BTreeMap<Topition, i64>> {
        let inner = self.inner.lock().expect("committed offsets lock");
        Some(answer(inner.groups.get(group)?, topics))
    }

    /// The count of changes so far, to read before reading a group from the store.
    pub fn changes(&self) -> u64 {
        self.inner.lock().expect("committed offsets lock").changes
    }

    /// Keeps `offsets`, all of `group`'s, read from the store after `changes` were counted,
    /// unless something changed since.
    pub fn keep(&self, group: &str, offsets: BTreeMap<Topition, i64>, changes: u64) {
        let mut inner = self.inner.lock().expect("committed offsets lock");
        if inner.changes == changes {
            inner.groups.insert(group.to_owned(), offsets);
        }
    }

    /// `group` committed (after the store has it).
    pub fn forget(&self, group: &str) {
        let mut inner = self.inner.lock().expect("committed offsets lock");
        inner.changes += 1;
        inner.groups.remove(group);
    }

    /// Groups or topics were deleted, or offsets expired or committed in a transaction.
    pub fn forget_all(&self) {
        let mut inner = self.inner.lock().expect("committed offsets lock");
        inner.changes += 1;
        inner.groups.clear();
    }
}

/// `topics`' offsets from all of a group's: -1 where it committed none, as the store answers.
pub(super) fn answer(offsets: &BTreeMap<Topition, i64>, topics: &[Topition]) -> BTreeMap<Topition, i64> {
    topics.iter().map(|t| (t.clone(), offsets.get(t).copied().unwrap_or(-1))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_read_while_another_commits_is_not_kept() {
        let c = CommittedOffsets::default();
        let tp = Topition::new("t", 0);
        let before = c.changes();
        c.forget("other"); // a commit lands while "g" is being read
        c.keep("g", BTreeMap::from([(tp.clone(), 5)]), before);
        assert_eq!(c.get("g", std::slice::from_ref(&tp)), None);
        let now = c.changes();
        c.keep("g", BTreeMap::from([(tp.clone(), 5)]), now);
        let missing = Topition::new("t", 1);
        assert_eq!(c.get("g", &[tp.clone(), missing.clone()]), Some(BTreeMap::from([(tp, 5), (missing, -1)])));
        c.forget("g");
        assert_eq!(c.get("g", &[]), None);
    }
}
