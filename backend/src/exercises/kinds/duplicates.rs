//! `duplicates`: at least `min` values occur more than once (a record processed twice).

use super::found::{Found, fail, n_records, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};
use std::collections::HashMap;

pub fn check(ns: &Namespace, probe: &Probe, topic: &str, min: usize) -> Result<Found, ProbeError> {
    let topic = ns.map(topic);
    let records = probe.records(&topic)?;
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for r in records.iter() {
        *counts.entry(r.value.as_deref().unwrap_or_default()).or_default() += 1;
    }
    let twice: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(v, n)| format!("\"{}\" ×{n}", String::from_utf8_lossy(v)))
        .collect();
    if twice.len() < min {
        fail(format!("every value on {topic} occurs once ({})", n_records(records.len())))
    } else {
        pass(format!("on {topic}: {}", twice.join(", ")))
    }
}
