//! The filter language of the live tail and the records API: a subscription may carry a
//! filter, and the server sends only the records it matches. It lives in this crate so the
//! browser can show a mistake while the student types, with the same parser the server uses.
//!
//! ```text
//! filter     = or
//! or         = and { ("or" | "||") and }
//! and        = unary { ("and" | "&&") unary }
//! unary      = ("not" | "!") unary | primary
//! primary    = "(" or ")" | path [ op literal ]
//! path       = root { "." name | "[" (string | integer) "]" }
//! root       = "key" | "value" | "headers" | "topic" | "partition" | "offset" | "timestamp"
//! op         = "==" | "!=" | "<=" | ">=" | "<" | ">" | "contains"
//! literal    = string | number | "true" | "false" | "null"
//! string     = '"' { char | '\"' | '\\' } '"'  |  "'" { char | "\'" | '\\' } "'"
//! name       = letter or "_", then letters, digits, "_" or "-"
//! ```
//!
//! - `value` is the record's value as the lab decodes it: the JSON document, the Avro record,
//!   or the text; `value.class` and `value.items[0]` walk into it.
//! - `headers.NAME` is a header's value as text (the last one when a name repeats);
//!   `headers["a b"]` for names that are not plain words.
//! - A path that leads nowhere is `null`: `value.x == null` holds when there is no `x`, and
//!   `headers.h != "a"` holds when there is no header `h`.
//! - `==` and `!=` compare numbers as numbers (`1 == 1.0`) and a text that reads as a number
//!   as that number, so `headers.attempt >= 2` works on a header. `<`, `<=`, `>`, `>=` compare
//!   numbers, or texts alphabetically; anything else is false.
//! - `contains` is a substring test on text; on a JSON object or number it searches its JSON
//!   text (`value contains "poison"`), on an array it asks whether an element equals the literal.
//! - A path alone holds when it leads to something other than `null` or `false`.

use crate::{Decoded, RecordView};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use winnow::ascii::{digit1, float, multispace0};
use winnow::combinator::{alt, cut_err, delimited, eof, fail, opt, preceded, repeat, terminated};
use winnow::error::{ContextError, ErrMode, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::token::{any, none_of, one_of, take_while};

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// A path alone: it leads to something other than `null` or `false`.
    Truthy(Path),
    Compare(Path, Op, Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Key,
    Value,
    Headers,
    Topic,
    Partition,
    Offset,
    Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub root: Root,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

/// A filter that does not parse: where (a character position, from 1) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "filter error at column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for FilterError {}

/// The longest filter accepted, in characters.
pub const MAX_LEN: usize = 2_000;
/// The deepest nesting of `(` and `not` accepted. The parser and [`Filter::matches`] recurse
/// once per level, and a filter comes from whoever opens a websocket: without a bound,
/// `((((…` 5,000 deep overflows a 2 MiB server thread's stack and aborts the process.
pub const MAX_DEPTH: usize = 32;

impl Filter {
    /// Parses a filter written in the grammar above.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        if text.trim().is_empty() {
            return Err(FilterError { column: 1, message: "the filter is empty".into() });
        }
        let length = text.chars().count();
        if length > MAX_LEN {
            return Err(FilterError {
                column: MAX_LEN + 1,
                message: format!("a filter has at most {MAX_LEN} characters, this one {length}"),
            });
        }
        delimited(
            multispace0,
            |i: &mut Input<'_>| or(0, i),
            (
                multispace0,
                eof.context(expected(
                    "`and`, `or`, `)` or the end of the filter (compare with ==, !=, <, <=, >, >= or contains)",
                )),
            ),
        )
        .parse(text)
        .map_err(|e| {
            let column = text[..e.offset()].chars().count() + 1;
            let message = e.inner().to_string().replace('\n', "; ");
            let message = if message.is_empty() { "cannot read the filter here".into() } else { message };
            FilterError { column, message }
        })
    }

    /// Does `record` match?
    pub fn matches(&self, record: &RecordView) -> bool {
        match self {
            Filter::Or(a, b) => a.matches(record) || b.matches(record),
            Filter::And(a, b) => a.matches(record) && b.matches(record),
            Filter::Not(a) => !a.matches(record),
            Filter::Truthy(path) => {
                !matches!(path.resolve(record).as_deref(), None | Some(Value::Null | Value::Bool(false)))
            }
            Filter::Compare(path, op, literal) => {
                let found = path.resolve(record);
                compare(found.as_deref().unwrap_or(&Value::Null), *op, literal)
            }
        }
    }
}

impl Path {
    /// What the path leads to in `record`; `None` when it leads nowhere.
    fn resolve<'r>(&self, record: &'r RecordView) -> Option<Cow<'r, Value>> {
        let (start, steps): (Cow<'r, Value>, &[Step]) = match self.root {
            Root::Key => (Cow::Owned(record.key.clone().map_or(Value::Null, Value::String)), &self.steps),
            Root::Topic => (Cow::Owned(Value::String(record.topic.clone())), &self.steps),
            Root::Partition => (Cow::Owned(record.partition.into()), &self.steps),
            Root::Offset => (Cow::Owned(record.offset.into()), &self.steps),
            Root::Timestamp => (Cow::Owned(record.timestamp_ms.map_or(Value::Null, Value::from)), &self.steps),
            Root::Value => (
                match &record.value {
                    None => Cow::Owned(Value::Null),
                    Some(Decoded::Json { json }) => Cow::Borrowed(json),
                    Some(Decoded::Avro { record, .. }) => Cow::Borrowed(record),
                    Some(Decoded::Text { text }) => Cow::Owned(Value::String(text.clone())),
                    Some(Decoded::Hex { hex }) => Cow::Owned(Value::String(hex.clone())),
                },
                &self.steps,
            ),
            Root::Headers => match self.steps.split_first() {
                Some((Step::Field(name), rest)) => {
                    let header = record.headers.iter().rev().find(|h| &h.key == name)?;
                    (Cow::Owned(header.value.clone().map_or(Value::Null, Value::String)), rest)
                }
                Some((Step::Index(_), _)) => return None,
                None => {
                    let all = record
                        .headers
                        .iter()
                        .map(|h| (h.key.clone(), h.value.clone().map_or(Value::Null, Value::String)));
                    (Cow::Owned(Value::Object(all.collect())), &[][..])
                }
            },
        };
        steps.iter().try_fold(start, |v, step| match v {
            Cow::Borrowed(v) => step_into(v, step).map(Cow::Borrowed),
            Cow::Owned(v) => step_into(&v, step).cloned().map(Cow::Owned),
        })
    }
}

fn step_into<'v>(v: &'v Value, step: &Step) -> Option<&'v Value> {
    match (v, step) {
        (Value::Object(o), Step::Field(f)) => o.get(f),
        (Value::Array(a), Step::Index(i)) => a.get(*i),
        _ => None,
    }
}

/// A JSON number, or a text that reads as one.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn compare(found: &Value, op: Op, literal: &Value) -> bool {
    use std::cmp::Ordering;
    let order = || -> Option<Ordering> {
        match (found, literal) {
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ if literal.is_number() || found.is_number() => number(found)?.partial_cmp(&number(literal)?),
            _ => None,
        }
    };
    let equal = || match (found, literal) {
        (Value::String(_), Value::Number(_))
        | (Value::Number(_), Value::String(_))
        | (Value::Number(_), Value::Number(_)) => order() == Some(Ordering::Equal),
        _ => found == literal,
    };
    match op {
        Op::Eq => equal(),
        Op::Ne => !equal(),
        Op::Lt => order() == Some(Ordering::Less),
        Op::Le => matches!(order(), Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => order() == Some(Ordering::Greater),
        Op::Ge => matches!(order(), Some(Ordering::Greater | Ordering::Equal)),
        Op::Contains => {
            let needle = match literal {
                Value::String(s) => Cow::Borrowed(s.as_str()),
                other => Cow::Owned(other.to_string()),
            };
            match found {
                Value::Null => false,
                Value::String(s) => s.contains(needle.as_ref()),
                Value::Array(items) => items.iter().any(|i| compare(i, Op::Eq, literal)),
                other => other.to_string().contains(needle.as_ref()),
            }
        }
    }
}

// The parser. Each rule skips the blanks after what it reads, so the rules can be chained.

type Input<'i> = &'i str;

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

fn blank<'i>(input: &mut Input<'i>) -> ModalResult<&'i str> {
    multispace0.parse_next(input)
}

/// A keyword: the word itself, not the start of a longer name.
fn keyword<'i>(word: &'static str) -> impl Parser<Input<'i>, &'i str, ErrMode<ContextError>> {
    terminated(word, winnow::combinator::not(one_of(|c: char| c.is_alphanumeric() || c == '_' || c == '-')))
}

// `or`, `and`, `unary` and `primary` carry how deep they are in `(` and `not`; the two
// places that recurse go one level deeper only through `deeper`, which refuses to pass
// MAX_DEPTH, so the bound sits where the recursion is.

fn or(depth: usize, input: &mut Input<'_>) -> ModalResult<Filter> {
    let first = and(depth, input)?;
    let rest: Vec<Filter> = repeat(
        0..,
        preceded(
            (alt((keyword("or"), "||")), blank),
            cut_err((move |i: &mut Input<'_>| and(depth, i)).context(expected("a condition after `or`"))),
        ),
    )
    .parse_next(input)?;
    Ok(rest.into_iter().fold(first, |a, b| Filter::Or(Box::new(a), Box::new(b))))
}

fn and(depth: usize, input: &mut Input<'_>) -> ModalResult<Filter> {
    let first = unary(depth, input)?;
    let rest: Vec<Filter> = repeat(
        0..,
        preceded(
            (alt((keyword("and"), "&&")), blank),
            cut_err((move |i: &mut Input<'_>| unary(depth, i)).context(expected("a condition after `and`"))),
        ),
    )
    .parse_next(input)?;
    Ok(rest.into_iter().fold(first, |a, b| Filter::And(Box::new(a), Box::new(b))))
}

/// `rule` one level deeper than `depth`, or a mistake here when that is past [`MAX_DEPTH`].
fn deeper<'i>(
    depth: usize,
    rule: fn(usize, &mut Input<'i>) -> ModalResult<Filter>,
) -> impl FnMut(&mut Input<'i>) -> ModalResult<Filter> {
    move |input| {
        if depth >= MAX_DEPTH {
            return cut_err(fail.context(expected("at most 32 levels of `(` and `not`"))).parse_next(input);
        }
        rule(depth + 1, input)
    }
}

fn unary(depth: usize, input: &mut Input<'_>) -> ModalResult<Filter> {
    alt((
        preceded(
            (alt((keyword("not"), "!")), blank),
            cut_err(deeper(depth, unary).context(expected("a condition after `not`"))),
        )
        .map(|f| Filter::Not(Box::new(f))),
        move |i: &mut Input<'_>| primary(depth, i),
    ))
    .parse_next(input)
}

fn primary(depth: usize, input: &mut Input<'_>) -> ModalResult<Filter> {
    alt((
        delimited(('(', blank), cut_err(deeper(depth, or)), cut_err((')', blank).context(expected("`)`")))),
        comparison,
    ))
    .parse_next(input)
}

fn comparison(input: &mut Input<'_>) -> ModalResult<Filter> {
    let path = path.parse_next(input)?;
    match opt(terminated(op, blank)).parse_next(input)? {
        None => Ok(Filter::Truthy(path)),
        Some(op) => {
            let literal = cut_err(
                terminated(literal, blank).context(expected("a value: \"text\", a number, true, false or null")),
            )
            .parse_next(input)?;
            Ok(Filter::Compare(path, op, literal))
        }
    }
}

fn op(input: &mut Input<'_>) -> ModalResult<Op> {
    alt((
        "==".value(Op::Eq),
        "!=".value(Op::Ne),
        "<=".value(Op::Le),
        ">=".value(Op::Ge),
        "<".value(Op::Lt),
        ">".value(Op::Gt),
        keyword("contains").value(Op::Contains),
    ))
    .parse_next(input)
}

fn path(input: &mut Input<'_>) -> ModalResult<Path> {
    let root = alt((
        keyword("key").value(Root::Key),
        keyword("value").value(Root::Value),
        keyword("headers").value(Root::Headers),
        keyword("topic").value(Root::Topic),
        keyword("partition").value(Root::Partition),
        keyword("offset").value(Root::Offset),
        keyword("timestamp").value(Root::Timestamp),
    ))
    .context(expected("key, value, headers, topic, partition, offset, timestamp, `not` or `(`"))
    .parse_next(input)?;
    let steps = repeat(
        0..,
        alt((
            preceded('.', cut_err(name.context(expected("a field name after `.`")))).map(Step::Field),
            delimited(
                ('[', blank),
                cut_err(
                    alt((string.map(Step::Field), digit1.parse_to().map(Step::Index)))
                        .context(expected("a \"name\" or an index in `[ ]`")),
                ),
                cut_err((blank, ']').context(expected("`]`"))),
            ),
        )),
    )
    .parse_next(input)?;
    blank.parse_next(input)?;
    Ok(Path { root, steps })
}

fn name(input: &mut Input<'_>) -> ModalResult<String> {
    (
        one_of(|c: char| c.is_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_alphanumeric() || c == '_' || c == '-'),
    )
        .take()
        .map(str::to_owned)
        .parse_next(input)
}

fn literal(input: &mut Input<'_>) -> ModalResult<Value> {
    alt((
        string.map(Value::String),
        keyword("true").value(Value::Bool(true)),
        keyword("false").value(Value::Bool(false)),
        keyword("null").value(Value::Null),
        float.map(|f: f64| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ))
    .parse_next(input)
}

fn string(input: &mut Input<'_>) -> ModalResult<String> {
    let quote = one_of(['"', '\'']).parse_next(input)?;
    let text = repeat(
        0..,
        alt((
            preceded('\\', cut_err(any.context(expected("a character after `\\`")))),
            none_of(move |c: char| c == quote || c == '\\'),
        )),
    )
    .fold(String::new, |mut s, c| {
        s.push(c);
        s
    })
    .parse_next(input)?;
    cut_err(one_of(quote).context(expected("the closing quote"))).parse_next(input)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Header;
    use serde_json::json;

    fn record(value: Value) -> RecordView {
        RecordView {
            topic: "mushroom_prediction".into(),
            partition: 2,
            offset: 41,
            timestamp_ms: Some(1_700_000_000_000),
            key: Some("m-7".into()),
            headers: vec![
                Header { key: "record_name".into(), value: Some("experiment_started".into()) },
                Header { key: "dlq-reason".into(), value: Some("not_json".into()) },
                Header { key: "attempt".into(), value: Some("3".into()) },
            ],
            value: Some(Decoded::Json { json: value }),
            size: 10,
        }
    }

    fn holds(filter: &str, r: &RecordView) -> bool {
        Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}")).matches(r)
    }

    #[test]
    fn the_issues_examples_select_what_they_say() {
        let poisonous = record(json!({"class": "poisonous", "probability": 0.55, "tags": ["a", 2]}));
        let edible = record(json!({"class": "edible", "probability": 0.97}));
        assert!(holds(r#"value.class == "poisonous""#, &poisonous));
        assert!(!holds(r#"value.class == "poisonous""#, &edible));
        assert!(holds("value.probability < 0.6", &poisonous));
        assert!(!holds("value.probability < 0.6", &edible));
        assert!(holds(r#"headers.record_name == "experiment_started""#, &edible));
        assert!(holds(r#"headers["dlq-reason"] == 'not_json' and headers.dlq-reason == "not_json""#, &edible));
        assert!(holds(r#"key contains "-7" && value contains "poison""#, &poisonous));
        assert!(!holds(r#"value contains "poison""#, &edible));
        assert!(holds(r#"value.tags contains 2 and value.tags[0] == "a""#, &poisonous));
        assert!(holds("headers.attempt >= 2 and headers.attempt == 3.0", &edible));
        assert!(holds("not (partition == 1 or offset != 41) and timestamp > 0", &edible));
        assert!(holds("value.missing == null and !value.missing and value.class", &edible));
        assert!(holds(r#"headers.none != "x""#, &edible));
        assert!(!holds(r#"headers.none == "x" or value.class < 3"#, &edible));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let r = record(json!({"a": 1}));
        assert!(holds("offset == 0 and partition == 2 or value.a == 1", &r));
        assert!(!holds("offset == 0 and (partition == 2 or value.a == 1)", &r));
    }

    #[test]
    fn text_and_missing_values_are_searched_as_text() {
        let mut r = record(Value::Null);
        r.value = Some(Decoded::Text { text: "hello world".into() });
        assert!(holds(r#"value contains "lo wo""#, &r));
        assert!(!holds(r#"value.x contains "lo""#, &r));
        r.value = None;
        r.key = None;
        assert!(holds("value == null and key == null", &r));
        assert!(!holds(r#"key contains "" "#, &r));
    }

    #[test]
    fn mistakes_name_their_column() {
        let error = |f: &str| Filter::parse(f).unwrap_err();
        let e = error(r#"value.class = "poisonous""#);
        assert_eq!(e.column, 13, "{e}");
        assert!(e.message.contains("end of the filter"), "{e}");
        let e = error("value.probability < ");
        assert_eq!(e.column, 21, "{e}");
        assert!(e.message.contains("a value"), "{e}");
        let e = error(r#"value.class == "poisonous"#);
        assert_eq!(e.column, 26, "{e}");
        assert!(e.message.contains("closing quote"), "{e}");
        let e = error("colour == 1");
        assert_eq!(e.column, 1, "{e}");
        assert!(e.message.contains("key, value, headers"), "{e}");
        let e = error("(offset > 1");
        assert_eq!(e.column, 12, "{e}");
        assert!(e.message.contains("`)`"), "{e}");
        let e = error("value. == 1");
        assert_eq!(e.column, 7, "{e}");
        assert_eq!(error("  ").column, 1);
        assert_eq!(error("é == 1 and").column, 1);
        assert_eq!(error("key == 'é' and").column, 15, "columns count characters, not bytes");
        assert!(error("key == 1 and").to_string().starts_with("filter error at column 13: "));
    }

    #[test]
    fn nesting_and_length_are_bounded_so_no_filter_can_overflow_the_stack() {
        let deep = format!("{}key == 1{}", "(".repeat(50_000), ")".repeat(50_000));
        let e = Filter::parse(&deep[..MAX_LEN]).unwrap_err();
        assert!(e.message.contains("at most 32 levels"), "{e}");
        assert_eq!(e.column, 34, "just inside the 33rd `(`");
        assert!(Filter::parse(&deep).unwrap_err().message.contains("at most 2000 characters"));
        let nots = format!("{}key", "not ".repeat(40));
        assert!(Filter::parse(&nots).unwrap_err().message.contains("at most 32 levels"));
        let bangs = format!("{}key", "!".repeat(40));
        assert!(Filter::parse(&bangs).unwrap_err().message.contains("at most 32 levels"));
        // Depth, not count: many conditions side by side are fine, as are words and quotes
        // that merely contain "not" or parentheses.
        let wide = vec!["(not key == 1)"; 100].join(" or ");
        assert!(Filter::parse(&wide).is_ok());
        assert!(Filter::parse(r#"value.notes != "((((((((((((((((((((((((((((((((((not" and headers.knot"#).is_ok());
        let ok = format!("{}key{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(Filter::parse(&ok).is_ok());
        let r = RecordView {
            topic: "t".into(),
            partition: 0,
            offset: 0,
            timestamp_ms: None,
            key: Some("k".into()),
            headers: vec![],
            value: None,
            size: 0,
        };
        assert!(Filter::parse(&vec!["not key == 1"; 100].join(" and ")).is_ok());
        let long_chain = vec!["key == 1"; 160].join(" or ");
        assert!(!Filter::parse(&long_chain).unwrap().matches(&r));
    }
}
