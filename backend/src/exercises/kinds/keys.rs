//! `keys`: each key's records are in one partition, and the records use several partitions.

use super::found::{Found, fail, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};
use std::collections::{HashMap, HashSet};

pub fn check(
    ns: &Namespace,
    probe: &Probe,
    topic: &str,
    min_keys: usize,
    min_partitions: usize,
) -> Result<Found, ProbeError> {
    let topic = ns.map(topic);
    let records = probe.records(&topic)?;
    let mut partition_of: HashMap<&[u8], i32> = HashMap::new();
    for r in records.iter() {
        let Some(k) = r.key.as_deref() else { continue };
        if let Some(&p) = partition_of.get(k)
            && p != r.partition
        {
            return fail(format!("key \"{}\" is in partitions {p} and {}", r.key_text(), r.partition));
        }
        partition_of.insert(k, r.partition);
    }
    let used: HashSet<i32> = records.iter().map(|r| r.partition).collect();
    if partition_of.len() < min_keys {
        return fail(format!("{topic} has {} distinct keys, fewer than {min_keys}", partition_of.len()));
    }
    if used.len() < min_partitions {
        return fail(format!(
            "{topic}'s records are in {} partition{}, fewer than {min_partitions}",
            used.len(),
            if used.len() == 1 { "" } else { "s" }
        ));
    }
    pass(format!("{} keys, each in one partition, over {} partitions", partition_of.len(), used.len()))
}
