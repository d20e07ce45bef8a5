//! `topic`: the topic exists, with exactly `partitions` or at least `min_partitions`,
//! `replicas` copies of each, and the settings asked for.

use super::found::{Found, fail, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};
use std::collections::BTreeMap;

pub fn check(
    ns: &Namespace,
    probe: &Probe,
    topic: &str,
    (partitions, min_partitions): (Option<i32>, Option<i32>),
    replicas: Option<usize>,
    configs: &BTreeMap<String, String>,
    set_on_topic: &[String],
) -> Result<Found, ProbeError> {
    let topic = ns.map(topic);
    // Said first: no topic the student creates can fix a cluster that is too small.
    if let Some(want) = replicas {
        let brokers = probe.brokers()?;
        if brokers < want {
            return fail(format!(
                "{want} copies of each partition need a cluster of at least {want} brokers, and this one has \
                 {brokers}{}: start one with ./lab kafka start --nodes {want} --dedicated-controller, and the lab \
                 with --brokers set to the KAFKA_BROKERS it prints",
                if brokers == 1 { " (the lab's embedded broker is a single node)" } else { "" }
            ));
        }
    }
    let n = probe.partitions(&topic)? as i32;
    match (partitions, min_partitions) {
        (Some(want), _) if n != want => return fail(format!("{topic} has {n} partitions, not {want}")),
        (_, Some(min)) if n < min => return fail(format!("{topic} has {n} partitions, fewer than {min}")),
        _ => {}
    }
    let mut seen = vec![format!("{n} partition{}", if n == 1 { "" } else { "s" })];
    if let Some(want) = replicas {
        let copies = probe.copies(&topic)?;
        if copies != want {
            return fail(format!("{topic} has {copies} {} of each partition, not {want}", copies_word(copies)));
        }
        seen.push(format!("{copies} {} of each", copies_word(copies)));
    }
    if !configs.is_empty() || !set_on_topic.is_empty() {
        let settings = probe.settings(&topic)?;
        let find = |name: &str| settings.iter().find(|c| c.name == name);
        for (name, want) in configs {
            let value = find(name).and_then(|c| c.value.as_deref());
            if value != Some(want.as_str()) {
                return fail(format!("{topic}'s {name} is {}, not {want}", value.unwrap_or("not set")));
            }
            seen.push(format!("{name}={want}"));
        }
        for name in set_on_topic {
            match find(name) {
                Some(c) if c.source == "DYNAMIC_TOPIC_CONFIG" => {
                    seen.push(format!("{name}={} set on the topic", c.value.as_deref().unwrap_or("(hidden)")))
                }
                Some(c) => {
                    return fail(format!(
                        "{topic}'s {name} is not set on the topic: it has the broker's default{}",
                        c.value.as_deref().map(|v| format!(" ({v})")).unwrap_or_default()
                    ));
                }
                None => return fail(format!("{topic}'s {name} is not set on the topic")),
            }
        }
    }
    pass(format!("{topic} exists with {}", seen.join(", ")))
}

fn copies_word(n: usize) -> &'static str {
    if n == 1 { "copy" } else { "copies" }
}
