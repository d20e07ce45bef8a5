//! Which offsets may be committed while outputs are still in flight.
//!
//! The rule Kafka Streams and Flink use for at-least-once: per partition, commit the
//! lowest offset whose output is not yet acknowledged (everything below it is answered),
//! or one past the highest offset read when nothing is outstanding. An output that fails
//! is never acknowledged, so the commit stops below it and a restart answers it again.

use std::collections::{BTreeMap, VecDeque};

#[derive(Debug, Default)]
struct Partition {
    /// Offsets read, ascending, with how many reads of each are not acknowledged yet (a
    /// re-read after a rebalance can read an offset twice). An acknowledged offset stays
    /// until every offset below it is acknowledged too, so the front is always the lowest
    /// unacknowledged one. A deque, not a map: offsets are read in order and mostly
    /// acknowledged in order, so both ends are where the work is (a map's insert and remove
    /// per request were a lock held on every acknowledgement).
    pending: VecDeque<(i64, u32)>,
    /// One past the highest offset read.
    next: Option<i64>,
    /// What was last committed, so an unchanged offset is not committed again.
    committed: Option<i64>,
}

impl Partition {
    fn read(&mut self, offset: i64) {
        match self.pending.back() {
            Some(&(last, _)) if last >= offset => match self.pending.binary_search_by_key(&offset, |e| e.0) {
                Ok(i) => self.pending[i].1 += 1,
                Err(i) => self.pending.insert(i, (offset, 1)),
            },
            _ => self.pending.push_back((offset, 1)),
        }
        self.next = Some(self.next.map_or(offset + 1, |n| n.max(offset + 1)));
    }

    /// True when `offset` had a read waiting for this acknowledgement.
    fn ack(&mut self, offset: i64) -> bool {
        let at = match self.pending.front() {
            Some(&(first, _)) if first == offset => 0,
            _ => match self.pending.binary_search_by_key(&offset, |e| e.0) {
                Ok(i) => i,
                Err(_) => return false,
            },
        };
        let reads = &mut self.pending[at].1;
        if *reads == 0 {
            return false;
        }
        *reads -= 1;
        while self.pending.front().is_some_and(|e| e.1 == 0) {
            self.pending.pop_front();
        }
        true
    }

    fn in_flight(&self) -> usize {
        self.pending.iter().map(|e| e.1 as usize).sum()
    }
}

/// The in-flight window of every partition the service reads.
#[derive(Debug, Default)]
pub struct Windows {
    partitions: BTreeMap<i32, Partition>,
    in_flight: usize,
}

impl Windows {
    /// A request at `offset` was read; its output is on its way.
    pub fn read(&mut self, partition: i32, offset: i64) {
        self.partitions.entry(partition).or_default().read(offset);
        self.in_flight += 1;
    }

    /// The output of the request at `offset` was acknowledged. Unknown offsets (a partition
    /// revoked meanwhile) are ignored.
    pub fn ack(&mut self, partition: i32, offset: i64) {
        let Some(p) = self.partitions.get_mut(&partition) else { return };
        if p.ack(offset) {
            self.in_flight -= 1;
        }
    }

    /// Outputs not yet acknowledged, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Outputs not yet acknowledged in these partitions.
    pub fn in_flight_of(&self, partitions: &[i32]) -> usize {
        partitions.iter().filter_map(|p| self.partitions.get(p)).map(Partition::in_flight).sum()
    }

    /// The offset to commit per partition: the lowest unacknowledged, else one past the
    /// highest read.
    pub fn committable(&self) -> Vec<(i32, i64)> {
        self.partitions
            .iter()
            .filter_map(|(&id, p)| p.pending.front().map(|e| e.0).or(p.next).map(|o| (id, o)))
            .collect()
    }

    /// What has changed since the last commit; marks it as committed.
    pub fn take_commit(&mut self) -> Vec<(i32, i64)> {
        let mut out = Vec::new();
        for (id, offset) in self.committable() {
            let p = self.partitions.get_mut(&id).expect("listed partition");
            if p.committed != Some(offset) {
                p.committed = Some(offset);
                out.push((id, offset));
            }
        }
        out
    }

    /// Forgets partitions this instance no longer owns.
    pub fn forget(&mut self, partitions: &[i32]) {
        for id in partitions {
            if let Some(p) = self.partitions.remove(id) {
                self.in_flight -= p.in_flight();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_stop_below_the_oldest_unacknowledged_output() {
        let mut w = Windows::default();
        for o in 10..15 {
            w.read(0, o);
        }
        w.read(1, 7);
        assert_eq!(w.committable(), vec![(0, 10), (1, 7)]);
        // Acknowledgements out of order: 11 and 12 before 10.
        w.ack(0, 11);
        w.ack(0, 12);
        assert_eq!(w.committable(), vec![(0, 10), (1, 7)], "10 is still in flight");
        w.ack(0, 10);
        assert_eq!(w.committable(), vec![(0, 13), (1, 7)]);
        w.ack(0, 13);
        w.ack(0, 14);
        w.ack(1, 7);
        assert_eq!(w.committable(), vec![(0, 15), (1, 8)], "all done: one past the last read");
        assert_eq!(w.in_flight(), 0);
    }

    #[test]
    fn a_failed_output_holds_the_commit_forever() {
        let mut w = Windows::default();
        for o in 0..100 {
            w.read(2, o);
        }
        for o in (0..100).filter(|&o| o != 42) {
            w.ack(2, o);
        }
        assert_eq!(w.committable(), vec![(2, 42)]);
        assert_eq!(w.in_flight(), 1);
    }

    #[test]
    fn only_changes_are_committed_and_revoked_partitions_are_forgotten() {
        let mut w = Windows::default();
        w.read(0, 0);
        w.read(1, 0);
        assert_eq!(w.take_commit(), vec![(0, 0), (1, 0)]);
        assert_eq!(w.take_commit(), vec![]);
        w.ack(0, 0);
        assert_eq!(w.take_commit(), vec![(0, 1)]);
        assert_eq!(w.in_flight_of(&[1]), 1);
        w.forget(&[1]);
        assert_eq!(w.in_flight(), 0);
        w.ack(1, 0); // a late acknowledgement of a revoked partition
        assert_eq!(w.in_flight(), 0);
    }

    #[test]
    fn a_re_read_offset_needs_both_acknowledgements() {
        let mut w = Windows::default();
        w.read(0, 5);
        w.read(0, 5);
        w.ack(0, 5);
        assert_eq!(w.committable(), vec![(0, 5)]);
        w.ack(0, 5);
        assert_eq!(w.committable(), vec![(0, 6)]);
    }

    #[test]
    fn a_re_read_below_or_among_acknowledged_offsets_is_waited_for_again() {
        let mut w = Windows::default();
        for o in 0..4 {
            w.read(0, o);
        }
        w.ack(0, 0);
        w.ack(0, 2);
        assert_eq!(w.committable(), vec![(0, 1)]);
        // After a seek back, 0 and 2 are read again: they are in flight once more.
        w.read(0, 0);
        w.read(0, 2);
        assert_eq!(w.in_flight(), 4);
        assert_eq!(w.committable(), vec![(0, 0)]);
        w.ack(0, 2); // a late duplicate acknowledgement counts once
        w.ack(0, 2);
        assert_eq!(w.in_flight(), 3);
        for o in [1, 0, 3] {
            w.ack(0, o);
        }
        assert_eq!(w.in_flight(), 0);
        assert_eq!(w.committable(), vec![(0, 4)]);
    }
}
