//! Comparing what a student wrote with what the checker expects, the way the exercise means
//! it: numbers as numbers at the precision of their source, never as text, and a difference
//! told as the expected and the seen value side by side.
//!
//! Why not compare JSON as text: Python prints an Avro `float` it decoded as the exact
//! double (`23.333824157714844`), the checker's decoder as the shortest f32 text
//! (`23.333824`), JavaScript prints `2` where Python prints `2.0`. All are the same number.

use crate::kafka::avro::AvroValue;
use serde_json::Value;

/// Relative tolerance of numbers that went through a 32-bit float: f32 keeps about seven
/// significant digits, so a student's double of it and our f32 of it agree within this.
pub const F32_RELATIVE: f64 = 1e-6;

/// Relative tolerance of numbers that are doubles all the way: only printing with fewer
/// digits than the shortest round-trip form (some languages' `%.15g`) may move them.
pub const F64_RELATIVE: f64 = 1e-12;

/// `seen` and `want` are the same number within a relative tolerance.
pub fn close(seen: f64, want: f64, relative: f64) -> bool {
    seen == want || (seen - want).abs() <= relative * want.abs().max(seen.abs())
}

/// `seen` is `want` read as an f32: equal once rounded to 32 bits, or within
/// [`F32_RELATIVE`].
pub fn close_f32(seen: f64, want: f32) -> bool {
    seen as f32 == want || close(seen, want as f64, F32_RELATIVE)
}

/// How far apart two numbers are, for a failure message: `0.0062 apart (2.7e-4 relative)`.
pub fn apart(seen: f64, want: f64) -> String {
    let diff = (seen - want).abs();
    if want == 0.0 {
        return format!("{} apart", short(diff));
    }
    let relative = diff / want.abs();
    if relative >= 0.01 {
        format!("{} apart ({:.0} %)", short(diff), relative * 100.0)
    } else {
        format!("{} apart ({relative:.1e} relative)", short(diff))
    }
}

fn short(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e7) { format!("{x:.2e}") } else { format!("{}", round_sig(x, 4)) }
}

fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// A number a student wrote as text or as JSON: `2`, `2.0`, ` 2 `, `"2"`.
pub fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    text.parse::<f64>().ok().filter(|x| x.is_finite()).or_else(|| match serde_json::from_str::<Value>(text).ok()? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    })
}

/// Where a student's JSON differs from an Avro record it should equal.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// `record.temperature`, `record.sensors[2]`; empty for the whole value.
    pub path: String,
    pub expected: String,
    pub seen: String,
    /// For numbers: how far apart.
    pub apart: Option<String>,
}

impl Difference {
    fn new(path: &str, expected: String, seen: &Value) -> Difference {
        Difference { path: path.to_owned(), expected, seen: show(seen), apart: None }
    }

    /// `at record.temperature: 23.34, expected 23.333824 (an Avro float; 0.0062 apart ...)`.
    pub fn full(&self) -> String {
        let apart = self.apart.as_deref().map(|a| format!(" — {a}")).unwrap_or_default();
        format!("{}{}, expected {}{apart}", self.at(), self.seen, self.expected)
    }

    /// The same without the expected value (see `FailureDetails::ActualOnly`).
    pub fn seen_only(&self) -> String {
        format!("{}{} is not the value expected", self.at(), self.seen)
    }

    fn at(&self) -> String {
        if self.path.is_empty() { String::new() } else { format!("at {}: ", self.path) }
    }
}

fn show(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 { format!("{}…", text.chars().take(80).collect::<String>()) } else { text }
}

/// Does `seen` (JSON a student wrote) hold the Avro value `want`? Floats compare at f32
/// precision, doubles and integers as numbers, records as objects with the same fields,
/// unions as their branch. Err: the first difference.
pub fn avro_json(want: &AvroValue, seen: &Value, path: &str) -> Result<(), Difference> {
    let number = |expected: f64, label: &str, agree: &dyn Fn(f64) -> bool| match seen.as_f64() {
        Some(s) if agree(s) => Ok(()),
        Some(s) => Err(Difference {
            apart: Some(apart(s, expected)),
            ..Difference::new(path, format!("{}{label}", num_text(expected)), seen)
        }),
        None => Err(Difference::new(path, format!("the number {}{label}", num_text(expected)), seen)),
    };
    match want {
        AvroValue::Null if seen.is_null() => Ok(()),
        AvroValue::Null => Err(Difference::new(path, "null".into(), seen)),
        AvroValue::Boolean(b) if seen.as_bool() == Some(*b) => Ok(()),
        AvroValue::Boolean(b) => Err(Difference::new(path, b.to_string(), seen)),
        AvroValue::Int(i) => number(*i as f64, "", &|s| s == *i as f64),
        AvroValue::Long(l) => number(*l as f64, "", &|s| seen.as_i64() == Some(*l) || s == *l as f64),
        AvroValue::Float(f) => {
            // The shortest text of the f32, as the lab shows it, not its exact double.
            let shown = f.to_string().parse::<f64>().unwrap_or(*f as f64);
            number(shown, " (an Avro float: compared at 32-bit precision)", &|s| close_f32(s, *f))
        }
        AvroValue::Double(d) => number(*d, "", &|s| close(s, *d, F64_RELATIVE)),
        AvroValue::String(text) | AvroValue::Enum(_, text) => match seen.as_str() {
            Some(s) if s == text => Ok(()),
            _ => Err(Difference::new(path, Value::String(text.clone()).to_string(), seen)),
        },
        AvroValue::Union(_, inner) => avro_json(inner, seen, path),
        AvroValue::Array(items) => {
            let Some(list) = seen.as_array() else {
                return Err(Difference::new(path, format!("a list of {}", items.len()), seen));
            };
            if list.len() != items.len() {
                return Err(Difference::new(path, format!("a list of {}", items.len()), seen));
            }
            items.iter().zip(list).enumerate().try_for_each(|(i, (w, s))| avro_json(w, s, &format!("{path}[{i}]")))
        }
        AvroValue::Record(fields) => {
            let pairs: Vec<(&str, &AvroValue)> = fields.iter().map(|(k, v)| (k.as_str(), v)).collect();
            object(&pairs, seen, path)
        }
        AvroValue::Map(items) => {
            let pairs: Vec<(&str, &AvroValue)> = items.iter().map(|(k, v)| (k.as_str(), v)).collect();
            object(&pairs, seen, path)
        }
        // Bytes, fixed and logical types the course never writes: as the lab shows them.
        other => {
            let want = crate::kafka::avro::to_json(other.clone());
            if &want == seen { Ok(()) } else { Err(Difference::new(path, want.to_string(), seen)) }
        }
    }
}

fn object(fields: &[(&str, &AvroValue)], seen: &Value, path: &str) -> Result<(), Difference> {
    let Some(map) = seen.as_object() else {
        let names: Vec<&str> = fields.iter().map(|f| f.0).collect();
        return Err(Difference::new(path, format!("an object with {}", names.join(", ")), seen));
    };
    for (name, want) in fields {
        let at = join(path, name);
        match map.get(*name) {
            Some(s) => avro_json(want, s, &at)?,
            None => return Err(Difference::new(path, format!("a field {name}"), seen)),
        }
    }
    if let Some(extra) = map.keys().find(|k| !fields.iter().any(|f| f.0 == k.as_str())) {
        return Err(Difference::new(path, format!("no field {extra}"), seen));
    }
    Ok(())
}

/// The text fields of JSON with their paths (`record.sensor`): the part that must be equal
/// exactly, so a cheap key to find candidates by.
pub fn json_text_leaves(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, x)| json_text_leaves(x, &format!("{path}[{i}]"), out))
        }
        Value::Object(map) => map.iter().for_each(|(k, x)| json_text_leaves(x, &join(path, k), out)),
        _ => {}
    }
}

/// [`json_text_leaves`] of an Avro value: strings and enum symbols.
pub fn avro_text_leaves(v: &AvroValue, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        AvroValue::String(s) | AvroValue::Enum(_, s) => out.push((path.to_owned(), s.clone())),
        AvroValue::Union(_, inner) => avro_text_leaves(inner, path, out),
        AvroValue::Array(items) => {
            items.iter().enumerate().for_each(|(i, x)| avro_text_leaves(x, &format!("{path}[{i}]"), out))
        }
        AvroValue::Record(fields) => fields.iter().for_each(|(k, x)| avro_text_leaves(x, &join(path, k), out)),
        AvroValue::Map(items) => items.iter().for_each(|(k, x)| avro_text_leaves(x, &join(path, k), out)),
        _ => {}
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

fn num_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reading(t: f32, ts: f64) -> AvroValue {
        AvroValue::Record(vec![
            ("sensor".into(), AvroValue::String("s1".into())),
            ("timestamp".into(), AvroValue::Double(ts)),
            ("temperature".into(), AvroValue::Float(t)),
        ])
    }

    #[test]
    fn a_float_matches_as_python_and_javascript_print_it() {
        let want = reading(23.333824, 1694266072.336535);
        // Python's json.dumps of fastavro's double, and the f32's shortest text.
        for t in [json!(23.333824157714844), json!(23.333824)] {
            let seen = json!({"sensor": "s1", "timestamp": 1694266072.336535, "temperature": t});
            assert_eq!(avro_json(&want, &seen, "record"), Ok(()), "{seen}");
        }
    }

    #[test]
    fn a_different_number_says_where_and_how_far() {
        let want = reading(23.333824, 1694266072.336535);
        let seen = json!({"sensor": "s1", "timestamp": 1694266072.336535, "temperature": 23.34});
        let d = avro_json(&want, &seen, "record").unwrap_err();
        assert_eq!(d.path, "record.temperature");
        assert!(d.full().contains("23.34, expected 23.333824"), "{}", d.full());
        assert!(d.full().contains("apart"), "{}", d.full());
        assert!(!d.seen_only().contains("23.333824"), "{}", d.seen_only());
        // A double is not compared at f32 precision: a second off is a difference.
        let seen = json!({"sensor": "s1", "timestamp": 1694266073.336535, "temperature": 23.333824});
        assert_eq!(avro_json(&want, &seen, "record").unwrap_err().path, "record.timestamp");
    }

    #[test]
    fn missing_extra_and_mistyped_fields_are_differences() {
        let want = reading(1.5, 2.0);
        assert!(avro_json(&want, &json!({"sensor": "s1", "timestamp": 2.0}), "").is_err());
        assert!(avro_json(&want, &json!({"sensor": "s1", "timestamp": 2, "temperature": 1.5, "x": 1}), "").is_err());
        assert!(avro_json(&want, &json!({"sensor": "s1", "timestamp": "2", "temperature": 1.5}), "").is_err());
        assert_eq!(avro_json(&want, &json!({"sensor": "s1", "timestamp": 2, "temperature": 1.5}), ""), Ok(()));
    }

    #[test]
    fn numbers_are_read_from_text_or_json() {
        assert_eq!(number(" 2.0 "), Some(2.0));
        assert_eq!(number("\"90\""), Some(90.0));
        assert_eq!(number("5.666666666666667"), Some(5.666666666666667));
        assert_eq!(number("two"), None);
        assert_eq!(number("NaN"), None);
        assert!(close(5.666666666666667, 17.0 / 3.0, F64_RELATIVE));
        assert_eq!(apart(66.0, 90.0), "24 apart (27 %)");
    }
}
