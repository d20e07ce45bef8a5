//! `answer`: the newest record with a key on the answers topic says what the broker's data
//! says (a count, a value at an offset, an offset of a value, a committed offset, a peak
//! rate), within a tolerance for numbers.

use super::found::{Found, differs, fail, pass, preview};
use crate::exercises::Namespace;
use crate::exercises::compare;
use crate::exercises::conditions::Expect;
use crate::exercises::probe::{Probe, ProbeError};
use serde_json::Value;

pub fn check(
    ns: &Namespace,
    probe: &Probe,
    answers: &str,
    key: &str,
    expect: &Expect,
    tolerance: f64,
) -> Result<Found, ProbeError> {
    let answers = ns.map(answers);
    let records = probe.records(&answers)?;
    // The newest answer by when it was written: a corrected answer may be in another
    // partition than the first one (another client, another partitioner).
    let Some(answer) =
        records.iter().filter(|r| r.key.as_deref() == Some(key.as_bytes())).max_by_key(|r| (r.timestamp_ms, r.offset))
    else {
        return fail(format!("no record with key \"{key}\" on {answers}"));
    };
    let given = answer.text().unwrap_or("").trim().to_owned();
    if let Expect::ReadAtOffset { topic, partition } = expect {
        return read_at_offset(&given, &ns.map(topic), *partition, probe);
    }
    let accepted = expected(expect, ns, probe)?;
    let Some(first) = accepted.first() else {
        return fail("there is nothing to compare the answer with yet".to_owned());
    };
    let agree = |want: &String| match (compare::number(&given), compare::number(want)) {
        (Some(g), Some(e)) => (g - e).abs() <= tolerance * e.abs() + 1e-9,
        _ => given == *want,
    };
    if let Some(want) = accepted.iter().find(|w| agree(w)) {
        return pass(format!("answered \"{given}\"; the broker says {want}"));
    }
    let apart = match (compare::number(&given), compare::number(first)) {
        (Some(g), Some(e)) => format!(" — {}", compare::apart(g, e)),
        _ => String::new(),
    };
    let within = if tolerance > 0.0 { format!(" (±{:.0} % accepted)", tolerance * 100.0) } else { String::new() };
    let others = if accepted.len() > 1 { format!(" or {}", accepted[1..].join(" or ")) } else { String::new() };
    differs(
        format!("answered \"{given}\", expected {first}{others}{within}{apart}"),
        format!("answered \"{given}\", which is not what the broker's data says"),
    )
}

fn read_at_offset(given: &str, topic: &str, partition: i32, probe: &Probe) -> Result<Found, ProbeError> {
    let parsed: Option<(i64, String)> = serde_json::from_str::<Value>(given).ok().and_then(|v| {
        let offset = v.get("offset")?;
        let offset = offset.as_i64().or_else(|| offset.as_str()?.trim().parse().ok())?;
        Some((offset, v.get("value")?.as_str()?.to_owned()))
    });
    let Some((offset, value)) = parsed else {
        return fail(format!("the answer \"{given}\" is not JSON like {{\"offset\": 1, \"value\": \"..\"}}"));
    };
    let records = probe.records(topic)?;
    match records.iter().find(|r| r.partition == partition && r.offset == offset) {
        None => fail(format!("{topic} has no record at partition {partition} offset {offset}")),
        Some(r) if r.text().map(str::trim) == Some(value.trim()) => {
            pass(format!("the record at offset {offset} is \"{value}\""))
        }
        Some(r) => differs(
            format!("you answered \"{value}\" for offset {offset}, but the record there is {}", preview(r)),
            format!("you answered \"{value}\" for offset {offset}, which is not the record there"),
        ),
    }
}

/// The answers that are right, best first: several where the data allows several (a value
/// written twice has two offsets).
fn expected(expect: &Expect, ns: &Namespace, probe: &Probe) -> Result<Vec<String>, ProbeError> {
    Ok(match expect {
        Expect::Equals(text) => vec![text.clone()],
        Expect::ReadAtOffset { .. } => Vec::new(),
        Expect::Count(topic) => vec![probe.records(&ns.map(topic))?.len().to_string()],
        Expect::ValueAt { topic, partition, offset } => probe
            .records(&ns.map(topic))?
            .iter()
            .filter(|r| r.partition == *partition && r.offset == *offset)
            .map(|r| r.text().unwrap_or("").trim().to_owned())
            .collect(),
        Expect::OffsetOf { topic, value } => {
            let mut offsets: Vec<String> = probe
                .records(&ns.map(topic))?
                .iter()
                .filter(|r| r.text() == Some(value.as_str()))
                .map(|r| r.offset.to_string())
                .collect();
            offsets.dedup();
            offsets
        }
        Expect::Committed { group, topic, partition } => probe
            .committed(&ns.map(group), &ns.map(topic))?
            .into_iter()
            .filter(|c| c.0 == *partition)
            .filter_map(|c| c.1)
            .map(|o| o.to_string())
            .collect(),
        Expect::PeakRate { topic, window_ms } => {
            let records = probe.records(&ns.map(topic))?;
            let mut peak = 0;
            let mut start = 0;
            for (end, r) in records.iter().enumerate() {
                while r.timestamp_ms - records[start].timestamp_ms >= *window_ms {
                    start += 1;
                }
                peak = peak.max(end + 1 - start);
            }
            if peak > 0 { vec![format!("{}", (peak as f64 * 1000.0 / *window_ms as f64).round())] } else { Vec::new() }
        }
    })
}
