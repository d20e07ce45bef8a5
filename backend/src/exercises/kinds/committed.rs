//! `committed`: a group has committed every partition of a topic up to its end.

use super::found::{Found, fail, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};
use streamlab_wire::PartitionInfo;

pub fn check(ns: &Namespace, probe: &Probe, group: &str, topic: &str) -> Result<Found, ProbeError> {
    let (group, topic) = (ns.map(group), ns.map(topic));
    let marks = probe.watermarks(&topic)?;
    let committed = probe.committed(&group, &topic)?;
    let mut behind = Vec::new();
    for &PartitionInfo { id: p, high, .. } in &marks {
        let c = committed.iter().find(|c| c.0 == p).and_then(|c| c.1);
        match c {
            Some(c) if c >= high => {}
            None if high == 0 => {}
            Some(c) => behind.push(format!("partition {p} at {c} of {high}")),
            None => behind.push(format!("partition {p} nothing of {high}")),
        }
    }
    if behind.is_empty() {
        pass(format!(
            "{group} has committed all {} records of {topic}",
            marks.iter().map(|m| m.high - m.low).sum::<i64>()
        ))
    } else {
        fail(format!("{group} has committed on {topic}: {}", behind.join(", ")))
    }
}
