//! What a Kafka Streams application's count and windowed join write, as functions of their
//! inputs (exercise 14, seed 002 §6.7–6.8): `count_per_key` and `windowed_join`.

use super::found::{Found, differs, fail, pass};
use crate::exercises::probe::{ProbeError, Record};
use std::collections::BTreeMap;

/// The newest output of each input key is the number of inputs with that key: what
/// `groupByKey().count().toStream()` writes. A count is a Long (`Serdes.Long()`, eight bytes)
/// or its digits as text. Inputs without a key are left out, as `groupByKey` leaves them.
pub fn count_per_key(inputs: &[Record], outputs: &[Record], input: &str, output: &str) -> Result<Found, ProbeError> {
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    for i in inputs.iter().filter(|i| i.key.is_some()) {
        *want.entry(i.key_text()).or_default() += 1;
    }
    if want.is_empty() {
        return fail(format!("{input} has no record with a key: a count per key needs keys"));
    }
    let mut newest: BTreeMap<String, &Record> = BTreeMap::new();
    for o in outputs.iter().filter(|o| o.key.is_some()) {
        let slot = newest.entry(o.key_text()).or_insert(o);
        if (o.timestamp_ms, o.offset) > (slot.timestamp_ms, slot.offset) {
            *slot = o;
        }
    }
    // Each wrong key as said in full and as `actual-only` says it (without the right count).
    let mut wrong: Vec<(String, String)> = Vec::new();
    for (key, n) in &want {
        let seen = match newest.get(key) {
            None => "no count".to_owned(),
            Some(o) => match count_of(o) {
                None => format!("{} is not a count (a Long or its digits)", o.position()),
                Some(c) if c == *n => continue,
                Some(c) => format!("counted {c}"),
            },
        };
        let want = if seen.starts_with("counted") { format!(", {input} has {n}") } else { format!(", {n} on {input}") };
        wrong.push((format!("key \"{key}\": {seen}{want}"), format!("key \"{key}\": {seen}")));
    }
    if wrong.is_empty() {
        let shown: Vec<String> = want.iter().take(6).map(|(k, n)| format!("{k}: {n}")).collect();
        let more = if want.len() > 6 { ", …" } else { "" };
        return pass(format!(
            "the newest count of each of the {} keys of {input} on {output} is right ({}{more})",
            want.len(),
            shown.join(", ")
        ));
    }
    let said = |pick: fn(&(String, String)) -> &String| {
        let first: Vec<&str> = wrong.iter().take(4).map(|w| pick(w).as_str()).collect();
        format!("{} of {} keys are not counted right on {output}: {}", wrong.len(), want.len(), first.join("; "))
    };
    differs(said(|w| &w.0), said(|w| &w.1))
}

/// A count as `Serdes.Long()` writes it (eight bytes, big-endian) or as text.
fn count_of(r: &Record) -> Option<i64> {
    let v = r.value.as_deref()?;
    if let Ok(bytes) = <[u8; 8]>::try_from(v)
        && std::str::from_utf8(v).map_or(true, |t| t.trim().parse::<i64>().is_err())
    {
        return Some(i64::from_be_bytes(bytes));
    }
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

/// Per key, as many outputs as there are pairs of a left and a right record with that key
/// whose timestamps are at most `window_ms` apart: what an inner `join` with
/// `JoinWindows.ofTimeDifferenceWithNoGrace` writes. Two topics joined need the same
/// number of partitions; that is said first.
pub fn windowed_join(
    left: (&[Record], &str, usize),
    right: (&[Record], &str, usize),
    window_ms: i64,
    outputs: &[Record],
    output: &str,
) -> Result<Found, ProbeError> {
    let ((lefts, left_name, left_parts), (rights, right_name, right_parts)) = (left, right);
    if left_parts != right_parts {
        return fail(format!(
            "{left_name} has {left_parts} partitions and {right_name} {right_parts}: topics joined need the same \
             number (Kafka Streams refuses to start otherwise)"
        ));
    }
    let mut want: BTreeMap<String, usize> = BTreeMap::new();
    for l in lefts.iter().filter(|r| r.key.is_some()) {
        let pairs = rights.iter().filter(|r| r.key == l.key && (r.timestamp_ms - l.timestamp_ms).abs() <= window_ms);
        let n = pairs.count();
        if n > 0 {
            *want.entry(l.key_text()).or_default() += n;
        }
    }
    let total: usize = want.values().sum();
    if total == 0 {
        return fail(format!(
            "no record of {left_name} has one of {right_name} with its key within {} s: write some that join",
            window_ms / 1000
        ));
    }
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    for o in outputs.iter().filter(|o| o.key.is_some()) {
        *got.entry(o.key_text()).or_default() += 1;
    }
    let mut keys: Vec<&String> = want.keys().chain(got.keys()).collect();
    keys.sort();
    keys.dedup();
    let wrong: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let (w, g) = (want.get(k).copied().unwrap_or(0), got.get(k).copied().unwrap_or(0));
            (w != g).then(|| format!("key \"{k}\": {g} joined, {w} pairs within the window"))
        })
        .collect();
    if wrong.is_empty() {
        pass(format!(
            "{output} holds one record for each of the {total} pairs of {left_name} and {right_name} with one key \
             within {} s",
            window_ms / 1000
        ))
    } else {
        fail(format!(
            "{output} does not hold one record per pair within {} s: {}",
            window_ms / 1000,
            wrong.into_iter().take(4).collect::<Vec<_>>().join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, value: &[u8], ts: i64, offset: i64) -> Record {
        Record {
            partition: 0,
            offset,
            timestamp_ms: ts,
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.to_vec()),
            headers: Vec::new(),
            decoded: None,
        }
    }

    #[test]
    fn the_newest_count_of_each_key_counts_its_inputs_as_a_long_or_as_text() {
        let inputs = [rec("132", b"{}", 1, 0), rec("48", b"{}", 2, 1), rec("132", b"{}", 3, 2)];
        let longs = [
            rec("132", &1i64.to_be_bytes(), 1, 0),
            rec("48", &1i64.to_be_bytes(), 2, 1),
            rec("132", &2i64.to_be_bytes(), 3, 2),
        ];
        assert!(count_per_key(&inputs, &longs, "rides", "counts").unwrap().holds);
        let text = [rec("48", b"1", 2, 0), rec("132", b"2", 3, 1)];
        assert!(count_per_key(&inputs, &text, "rides", "counts").unwrap().holds);
        let stale = [rec("132", &1i64.to_be_bytes(), 1, 0), rec("48", &1i64.to_be_bytes(), 2, 1)];
        let found = count_per_key(&inputs, &stale, "rides", "counts").unwrap();
        assert!(!found.holds && found.detail.contains("key \"132\": counted 1, rides has 2"), "{}", found.detail);
        let found = count_per_key(&inputs, &text[1..], "rides", "counts").unwrap();
        assert!(found.detail.contains("key \"48\": no count"), "{}", found.detail);
    }

    #[test]
    fn a_join_writes_one_record_per_pair_within_the_window() {
        let minute = 60_000;
        let rides = [rec("132", b"r1", 0, 0), rec("132", b"r2", 5 * minute, 1), rec("48", b"r3", 0, 2)];
        // 132's location is within ten minutes of both rides; 48's eleven minutes after its ride.
        let locations = [rec("132", b"jfk", 9 * minute, 0), rec("48", b"x", 11 * minute, 1)];
        let two = [rec("132", b"{}", 9 * minute, 0), rec("132", b"{}", 9 * minute, 1)];
        let join = |out: &[Record], parts: usize| {
            windowed_join((&rides, "rides", 2), (&locations, "pickup-locations", parts), 10 * minute, out, "joined")
                .unwrap()
        };
        assert!(join(&two, 2).holds, "{}", join(&two, 2).detail);
        let found = join(&two[..1], 2);
        assert!(found.detail.contains("key \"132\": 1 joined, 2 pairs within the window"), "{}", found.detail);
        let found = join(&two, 4);
        assert!(found.detail.contains("rides has 2 partitions and pickup-locations 4"), "{}", found.detail);
        let extra = [two[0].clone(), two[1].clone(), rec("48", b"{}", 11 * minute, 2)];
        assert!(join(&extra, 2).detail.contains("key \"48\": 1 joined, 0 pairs"), "{}", join(&extra, 2).detail);
    }
}
