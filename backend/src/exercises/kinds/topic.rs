//! `topic`: the topic exists, with exactly `partitions` or at least `min_partitions`.

use super::found::{Found, fail, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};

pub fn check(
    ns: &Namespace,
    probe: &Probe,
    topic: &str,
    partitions: &Option<i32>,
    min_partitions: &Option<i32>,
) -> Result<Found, ProbeError> {
    let topic = ns.map(topic);
    let n = probe.partitions(&topic)? as i32;
    match (partitions, min_partitions) {
        (Some(want), _) if n != *want => fail(format!("{topic} has {n} partitions, not {want}")),
        (_, Some(min)) if n < *min => fail(format!("{topic} has {n} partitions, fewer than {min}")),
        _ => pass(format!("{topic} exists with {n} partition{}", if n == 1 { "" } else { "s" })),
    }
}
