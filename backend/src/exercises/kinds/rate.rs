//! `rate`: messages/s over the newest `window_secs` seconds of records is within `min..max`.

use super::found::{Found, fail, lab_note, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};

pub fn check(
    ns: &Namespace,
    probe: &Probe,
    topic: &str,
    window_secs: f64,
    min: f64,
    max: f64,
) -> Result<Found, ProbeError> {
    let topic = ns.map(topic);
    let own = probe.own_records(&topic)?;
    let (records, note) = (&own.records, lab_note(&own, &topic));
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return fail(if own.lab == 0 {
            format!("{topic} is empty")
        } else {
            format!("{topic} has none of yours{note}")
        });
    };
    let window_ms = (window_secs * 1000.0) as i64;
    if last.timestamp_ms - first.timestamp_ms < window_ms - 1000 {
        return fail(format!(
            "{topic}'s records span {:.1} s; the rate is measured over the newest {window_secs} s{note}",
            (last.timestamp_ms - first.timestamp_ms) as f64 / 1000.0
        ));
    }
    let n = records.iter().filter(|r| r.timestamp_ms > last.timestamp_ms - window_ms).count();
    let rate = n as f64 / window_secs;
    if rate < min || rate > max {
        fail(format!("{rate:.1} messages/s over the newest {window_secs} s, outside {min}–{max}{note}"))
    } else {
        pass(format!("{rate:.1} messages/s over the newest {window_secs} s"))
    }
}
