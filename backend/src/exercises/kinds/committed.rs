//! `committed`: a group has committed every partition of a topic up to its end.

use super::found::{Found, fail, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};
use streamlab_wire::PartitionInfo;

pub fn check(ns: &Namespace, probe: &Probe, group: &str, topic: &str) -> Result<Found, ProbeError> {
    let (group, topic) = (ns.map(group), ns.map(topic));
    let (records, behind) = behind(probe, &group, &topic)?;
    if behind.is_empty() {
        pass(format!("{group} has committed all {records} records of {topic}"))
    } else {
        fail(format!("{group} has committed on {topic}: {}", behind.join(", ")))
    }
}

/// How many records `topic` holds, and the partitions `group` has not committed to their
/// end, each as "partition 0 at 3 of 5" (`group` and `topic` as the broker names them).
pub fn behind(probe: &Probe, group: &str, topic: &str) -> Result<(i64, Vec<String>), ProbeError> {
    let marks = positions(probe, group, topic)?;
    let mut behind = Vec::new();
    for &(PartitionInfo { id: p, high, .. }, c) in &marks {
        match c {
            Some(c) if c >= high => {}
            None if high == 0 => {}
            Some(c) => behind.push(format!("partition {p} at {c} of {high}")),
            None => behind.push(format!("partition {p} nothing of {high}")),
        }
    }
    Ok((marks.iter().map(|(m, _)| m.high - m.low).sum(), behind))
}

/// The group's lag on the topic as a console shows it: the end offsets less the committed
/// ones, a partition without a commit counting from its oldest record.
pub fn lag(probe: &Probe, group: &str, topic: &str) -> Result<i64, ProbeError> {
    let marks = positions(probe, group, topic)?;
    Ok(marks.iter().map(|(m, c)| (m.high - c.unwrap_or(m.low).max(m.low)).max(0)).sum())
}

/// Each partition's watermarks and the group's committed offset there, if any.
fn positions(probe: &Probe, group: &str, topic: &str) -> Result<Vec<(PartitionInfo, Option<i64>)>, ProbeError> {
    let committed = probe.committed(group, topic)?;
    let at = |p: i32| committed.iter().find(|c| c.0 == p).and_then(|c| c.1);
    Ok(probe
        .watermarks(topic)?
        .into_iter()
        .map(|m| {
            let c = at(m.id);
            (m, c)
        })
        .collect())
}
