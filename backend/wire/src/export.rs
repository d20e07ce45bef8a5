//! Downloads: records as JSON lines or CSV, the groups table and the rate and lag history as
//! CSV. The server's API and the browser's "download what is in view" both write them
//! here, so a file from either has the same columns.

use crate::{Decoded, GroupInfo, RateSample, RecordView};
use std::fmt::Write;

/// Columns of [`records_csv`].
pub const RECORD_COLUMNS: &str = "topic,partition,offset,timestamp_ms,key,value,headers";

/// One record per line, each the JSON the records API returns.
pub fn records_jsonl(records: &[RecordView]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(r).expect("records serialise"));
        out.push('\n');
    }
    out
}

/// One record per row. The value is its text: the JSON document or Avro record as compact
/// JSON, text as it is, other bytes as hexadecimal, nothing for a null value. The headers are
/// a JSON list of `{"key", "value"}`, so a repeated header keeps every value.
pub fn records_csv(records: &[RecordView]) -> String {
    let mut out = format!("{RECORD_COLUMNS}\n");
    for r in records {
        let value = match &r.value {
            None => String::new(),
            Some(Decoded::Json { json }) => json.to_string(),
            Some(Decoded::Avro { record, .. }) => record.to_string(),
            Some(Decoded::Text { text }) => text.clone(),
            Some(Decoded::Hex { hex }) => hex.clone(),
        };
        let headers = serde_json::to_string(&r.headers).expect("headers serialise");
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}",
            csv_field(&r.topic),
            r.partition,
            r.offset,
            r.timestamp_ms.map(|t| t.to_string()).unwrap_or_default(),
            csv_field(r.key.as_deref().unwrap_or("")),
            csv_field(&value),
            csv_field(&headers),
        );
    }
    out
}

/// The groups table: one row per group and partition it has committed to or is assigned.
/// A group with neither still gets a row, with the partition columns empty.
pub fn groups_csv(groups: &[GroupInfo]) -> String {
    let mut out = String::from("group,state,members,topic,partition,committed,end,lag\n");
    for g in groups {
        let head = format!("{},{},{}", csv_field(&g.group), csv_field(&g.state), g.members.len());
        if g.offsets.is_empty() {
            let _ = writeln!(out, "{head},,,,,");
        }
        for o in &g.offsets {
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            let _ = writeln!(
                out,
                "{head},{},{},{},{},{}",
                csv_field(&o.topic),
                o.partition,
                opt(o.committed),
                o.end,
                opt(o.lag)
            );
        }
    }
    out
}

/// The sampler's history in long form, one value per row: `kind` is `topic` (messages/s
/// written), `group` (messages/s committed) or `lag` (messages the group has not committed
/// on `topic`). An empty value is a gap: the sampler had no number for that second.
pub fn history_csv<'a>(history: impl IntoIterator<Item = &'a RateSample>) -> String {
    let mut out = String::from("at_ms,kind,name,topic,value\n");
    let rate = |v: &Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
    for s in history {
        for (topic, v) in &s.topics {
            let _ = writeln!(out, "{},topic,{},{},{}", s.at_ms, csv_field(topic), csv_field(topic), rate(v));
        }
        for (group, v) in &s.groups {
            let _ = writeln!(out, "{},group,{},,{}", s.at_ms, csv_field(group), rate(v));
        }
        for (group, topics) in &s.lag {
            for (topic, lag) in topics {
                let _ = writeln!(out, "{},lag,{},{},{lag}", s.at_ms, csv_field(group), csv_field(topic));
            }
        }
    }
    out
}

/// Quoted when it holds a comma, a quote or a line break (RFC 4180); a leading `=`, `+`,
/// `-` or `@` is escaped so that a spreadsheet does not run it as a formula.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GroupOffset, Header};
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn records_keep_commas_quotes_and_line_breaks_in_their_fields() {
        let r = RecordView {
            topic: "t".into(),
            partition: 1,
            offset: 7,
            timestamp_ms: Some(5),
            key: Some("=cmd".into()),
            headers: vec![Header { key: "h".into(), value: Some("a,b".into()) }],
            value: Some(Decoded::Json { json: json!({"class": "edible", "note": "x\ny"}) }),
            size: 3,
        };
        let csv = records_csv(std::slice::from_ref(&r));
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(RECORD_COLUMNS));
        assert_eq!(
            csv.split_once('\n').unwrap().1,
            "t,1,7,5,'=cmd,\"{\"\"class\"\":\"\"edible\"\",\"\"note\"\":\"\"x\\ny\"\"}\",\"[{\"\"key\"\":\"\"h\"\",\"\"value\"\":\"\"a,b\"\"}]\"\n"
        );
        let jsonl = records_jsonl(&[r.clone(), r.clone()]);
        let back: Vec<RecordView> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(back, vec![r.clone(), r]);
        assert_eq!(records_csv(&[]), format!("{RECORD_COLUMNS}\n"));
        assert_eq!(records_jsonl(&[]), "");
    }

    #[test]
    fn groups_and_history_are_one_value_per_row() {
        let g = GroupInfo {
            group: "g".into(),
            state: "Empty".into(),
            members: vec![],
            offsets: vec![GroupOffset { topic: "t".into(), partition: 0, committed: None, end: 4, lag: None }],
        };
        let idle = GroupInfo { offsets: vec![], group: "idle".into(), ..g.clone() };
        assert_eq!(
            groups_csv(&[g, idle]),
            "group,state,members,topic,partition,committed,end,lag\ng,Empty,0,t,0,,4,\nidle,Empty,0,,,,,\n"
        );
        let sample = RateSample {
            at_ms: 1000,
            topics: BTreeMap::from([("t".into(), Some(2.5)), ("u".into(), None)]),
            groups: BTreeMap::from([("g".into(), Some(1.0))]),
            lag: BTreeMap::from([("g".into(), BTreeMap::from([("t".into(), 12)]))]),
        };
        assert_eq!(
            history_csv([&sample]),
            "at_ms,kind,name,topic,value\n1000,topic,t,t,2.500\n1000,topic,u,u,\n1000,group,g,,1.000\n1000,lag,g,t,12\n"
        );
    }
}
