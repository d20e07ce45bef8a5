//! `answer`: the newest record with a key on the answers topic says what the broker's data
//! says (a count, a value at an offset, an offset of a value, a committed offset, a peak
//! rate), within a tolerance for numbers; or names a Kafka error, or is a schema the Schema
//! Registry refuses.

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
    if let Expect::KafkaError(name) = expect {
        return kafka_error(&given, name);
    }
    if let Expect::Refused { subject } = expect {
        return super::schema::check_refused(&given, &ns.map(subject), probe);
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

/// Whether `given` names the Kafka error `name` (as confluent-kafka spells it) in any
/// client's words: each spells it differently, and a student pastes what hers printed.
fn kafka_error(given: &str, name: &str) -> Result<Found, ProbeError> {
    let letters = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase();
    // The broker's error codes with their names (NOT_ENOUGH_REPLICAS) and descriptions
    // ("Broker: Not enough in-sync replicas").
    let codes: Vec<(i32, String, String)> = broker_errors()
        .into_iter()
        .map(|(code, name, desc)| (code, letters(&name), letters(desc.trim_start_matches("Broker: "))))
        .collect();
    let wanted = letters(name);
    let Some((code, _, description)) = codes.iter().find(|(_, n, _)| *n == wanted) else {
        return fail(format!("the exercise asks for an error Kafka does not have: {name}"));
    };
    let said = letters(given);
    let names =
        |c: &(i32, String, String)| said.contains(&c.1) || said.contains(&c.2) || given.trim() == c.0.to_string();
    // NOT_ENOUGH_REPLICAS_AFTER_APPEND contains NOT_ENOUGH_REPLICAS and is another error.
    let longer = codes
        .iter()
        .find(|c| c.0 != *code && (c.1.starts_with(&wanted) || c.2.starts_with(description.as_str())) && names(c));
    match longer {
        None if names(&(*code, wanted.clone(), description.clone())) => {
            pass(format!("answered \"{given}\": Kafka's {name} (error {code})"))
        }
        Some(other) => fail(format!("answered \"{given}\", which is Kafka's error {} (not {name})", other.0)),
        None => fail(format!("answered \"{given}\", which does not name the error the broker gives in this case")),
    }
}

/// Kafka's error codes as librdkafka knows them: code, name and description, the broker's
/// own (code > 0) only.
fn broker_errors() -> Vec<(i32, String, String)> {
    use rdkafka::bindings as rdsys;
    use std::ffi::CStr;
    let mut descs: *const rdsys::rd_kafka_err_desc = std::ptr::null();
    let mut count = 0usize;
    // SAFETY: librdkafka hands out a pointer to its static table of `count` entries; names
    // and descriptions are NUL-terminated static strings or null.
    unsafe {
        rdsys::rd_kafka_get_err_descs(&mut descs, &mut count);
        if descs.is_null() {
            return Vec::new();
        }
        std::slice::from_raw_parts(descs, count)
            .iter()
            .filter(|d| (d.code as i32) > 0 && !d.name.is_null() && !d.desc.is_null())
            .map(|d| {
                let text = |p| CStr::from_ptr(p).to_string_lossy().into_owned();
                (d.code as i32, text(d.name), text(d.desc))
            })
            .collect()
    }
}

/// The answers that are right, best first: several where the data allows several (a value
/// written twice has two offsets).
fn expected(expect: &Expect, ns: &Namespace, probe: &Probe) -> Result<Vec<String>, ProbeError> {
    Ok(match expect {
        Expect::Equals(text) => vec![text.clone()],
        Expect::ReadAtOffset { .. } | Expect::KafkaError(_) | Expect::Refused { .. } => Vec::new(),
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
        Expect::SinkLag { connector, topic } => {
            // Connect names a sink's group after the connector.
            vec![super::committed::lag(probe, &format!("connect-{}", ns.map(connector)), &ns.map(topic))?.to_string()]
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(given: &str) -> bool {
        kafka_error(given, "NOT_ENOUGH_REPLICAS").unwrap().holds
    }

    #[test]
    fn an_error_is_recognised_in_each_clients_spelling() {
        for given in [
            "NOT_ENOUGH_REPLICAS",
            "KafkaError{code=NOT_ENOUGH_REPLICAS,val=19,str=\"Broker: Not enough in-sync replicas\"}",
            "NotEnoughReplicasError",
            "[Error 19] NotEnoughReplicasError: Messages are rejected since there are fewer in-sync replicas",
            "Broker: Not enough in-sync replicas",
            "org.apache.kafka.common.errors.NotEnoughReplicasException",
            "19",
        ] {
            assert!(holds(given), "{given}");
        }
    }

    #[test]
    fn another_error_is_not_it() {
        for given in ["KafkaTimeoutError", "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "Local: Message timed out", "20", ""] {
            assert!(!holds(given), "{given}");
        }
        assert!(kafka_error("x", "NO_SUCH_ERROR").unwrap().detail.contains("Kafka does not have"));
    }
}
