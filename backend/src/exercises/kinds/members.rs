//! `members`: a group has at least `min` active members; where the broker reports their
//! assignments, they split the topic's partitions without overlap.

use super::found::{Found, fail, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};
use std::collections::HashSet;

pub fn check(ns: &Namespace, probe: &Probe, group: &str, topic: &str, min: usize) -> Result<Found, ProbeError> {
    let (group, topic) = (ns.map(group), ns.map(topic));
    let partitions = probe.partitions(&topic)?;
    let members = probe.members(&group, &topic)?;
    if members.len() < min {
        return fail(format!(
            "{group} has {} active member{}, fewer than {min}",
            members.len(),
            if members.len() == 1 { "" } else { "s" }
        ));
    }
    let reported: Vec<&Vec<i32>> = members.iter().filter_map(|m| m.1.as_ref()).collect();
    if reported.len() < members.len() {
        return pass(format!(
            "{group} has {} active members (this broker does not report their assignments)",
            members.len()
        ));
    }
    let mut seen = HashSet::new();
    for a in &reported {
        for p in a.iter() {
            if !seen.insert(*p) {
                return fail(format!("partition {p} of {topic} is assigned to two members of {group}"));
            }
        }
    }
    if seen.len() < partitions {
        return fail(format!("{group}'s members are assigned {} of {topic}'s {partitions} partitions", seen.len()));
    }
    let sizes: Vec<String> = reported.iter().map(|a| a.len().to_string()).collect();
    pass(format!("{group} has {} members splitting {partitions} partitions ({})", members.len(), sizes.join(" + ")))
}
