//! `keys`: enough distinct keys, each key's records in one partition, and the records in
//! several partitions.

use super::found::{Found, fail, lab_note, n_records, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};
use std::collections::{HashMap, HashSet};

pub fn check(
    ns: &Namespace,
    probe: &Probe,
    topic: &str,
    min_keys: usize,
    min_partitions: usize,
    one_partition_each: bool,
) -> Result<Found, ProbeError> {
    let topic = ns.map(topic);
    let own = probe.own_records(&topic)?;
    let records = &own.records;
    let mut partition_of: HashMap<&[u8], i32> = HashMap::new();
    let mut uses: HashMap<&[u8], usize> = HashMap::new();
    for r in records.iter() {
        let Some(k) = r.key.as_deref() else { continue };
        *uses.entry(k).or_default() += 1;
        if one_partition_each
            && let Some(&p) = partition_of.get(k)
            && p != r.partition
        {
            return fail(format!("key \"{}\" is in partitions {p} and {}", r.key_text(), r.partition));
        }
        partition_of.insert(k, r.partition);
    }
    let used: HashSet<i32> = records.iter().map(|r| r.partition).collect();
    if partition_of.len() < min_keys {
        let mut seen = Vec::new();
        if let Some((k, n)) = uses.iter().max_by_key(|(_, n)| **n)
            && *n > 1
        {
            seen.push(format!("\"{}\" is the key of {n}", String::from_utf8_lossy(k)));
        }
        let unkeyed = records.iter().filter(|r| r.key.is_none()).count();
        if unkeyed > 0 {
            seen.push(format!("{unkeyed} have none"));
        }
        let seen = if seen.is_empty() { String::new() } else { format!(" ({})", seen.join(", ")) };
        return fail(format!(
            "{topic}'s {} have {} distinct keys{seen}, fewer than {min_keys}{}",
            n_records(records.len()),
            partition_of.len(),
            lab_note(&own, &topic)
        ));
    }
    if used.len() < min_partitions {
        return fail(format!(
            "{topic}'s records are in {} partition{}, fewer than {min_partitions}",
            used.len(),
            if used.len() == 1 { "" } else { "s" }
        ));
    }
    let each = if one_partition_each { ", each in one partition," } else { "" };
    pass(format!("{} keys{each} over {} partitions", partition_of.len(), used.len()))
}
