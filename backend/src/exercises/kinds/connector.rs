//! `connector`: a Kafka Connect connector runs on the worker the checker was given: it
//! exists under its name, is of the asked class, reads the asked topic, and it and every
//! task are RUNNING; with `caught_up` instead, a sink's group has committed the topic to its
//! end.

use super::committed;
use super::found::{Found, fail, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};
use crate::kafka::connect::ConnectError;
use streamlab_wire::ConnectorView;

pub fn check(
    ns: &Namespace,
    probe: &Probe,
    name: &str,
    class: &str,
    topic: &str,
    caught_up: bool,
) -> Result<Found, ProbeError> {
    let (name, topic) = (ns.map(name), ns.map(topic));
    let (url, connectors) = match probe.connectors() {
        Ok(found) => found,
        // No worker yet is where every student starts: a failed condition, said with what
        // to do, not an error of the checker.
        Err(ProbeError::Connect(e @ ConnectError::NotRunning(_))) => return fail(e.to_string()),
        Err(e) => return Err(e),
    };
    let Some(c) = connectors.iter().find(|c| c.name == name) else {
        let others: Vec<&str> = connectors.iter().map(|c| c.name.as_str()).collect();
        let has = if others.is_empty() { "none".to_owned() } else { others.join(", ") };
        return fail(format!("the worker at {url} has no connector named {name} (its connectors: {has})"));
    };
    if !same_class(&c.class, class) {
        return fail(format!("{name} is a {}, not a {class}", c.class));
    }
    let topics: Vec<&str> = c.topics.as_deref().unwrap_or_default().split(',').map(str::trim).collect();
    if !topics.contains(&topic.as_str()) {
        return fail(format!("{name} reads {}, not {topic}", c.topics.as_deref().unwrap_or("no topic")));
    }
    if caught_up {
        // Whether it runs is the other condition's; a paused sink that had caught up before
        // new records arrived is behind, and says by how much.
        let Some(group) = &c.group else {
            return fail(format!("{name} is a {} connector: it has no consumer group", c.kind));
        };
        let (records, behind) = committed::behind(probe, group, &topic)?;
        return if behind.is_empty() {
            pass(format!("{name}'s group {group} has committed all {records} records of {topic}"))
        } else {
            fail(format!("{name}'s group {group} ({}) has committed on {topic}: {}", c.state, behind.join(", ")))
        };
    }
    if c.state != "RUNNING" {
        return fail(format!("{name} is {}{}", c.state, first_line(&c.trace)));
    }
    if c.tasks.is_empty() {
        return fail(format!("{name} runs but has no task yet (Connect starts them a moment after the connector)"));
    }
    if let Some(t) = c.tasks.iter().find(|t| t.state != "RUNNING") {
        return fail(format!("task {} of {name} is {}{}", t.id, t.state, first_line(&t.trace)));
    }
    pass(format!("{name} ({}) runs {} on {}", c.class, tasks(c), c.topics.as_deref().unwrap_or_default()))
}

/// `FileStreamSink`, `FileStreamSinkConnector` and
/// `org.apache.kafka.connect.file.FileStreamSinkConnector` name one class: Connect accepts
/// each of them.
fn same_class(configured: &str, asked: &str) -> bool {
    let short = |c: &str| {
        let last = c.rsplit('.').next().unwrap_or(c);
        last.strip_suffix("Connector").unwrap_or(last).to_owned()
    };
    short(configured) == short(asked)
}

fn first_line(trace: &Option<String>) -> String {
    trace.as_deref().and_then(|t| t.lines().next()).map(|l| format!(": {l}")).unwrap_or_default()
}

fn tasks(c: &ConnectorView) -> String {
    if c.tasks.len() == 1 { "1 task".to_owned() } else { format!("{} tasks", c.tasks.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_is_named_short_long_or_in_full() {
        let full = "org.apache.kafka.connect.file.FileStreamSinkConnector";
        for posted in ["FileStreamSink", "FileStreamSinkConnector", full] {
            assert!(same_class(posted, "FileStreamSink"), "{posted}");
            assert!(same_class(posted, full), "{posted}");
        }
        assert!(!same_class("FileStreamSource", "FileStreamSink"));
        assert!(!same_class("io.confluent.connect.hdfs.HdfsSinkConnector", "FileStreamSink"));
    }

    #[test]
    fn a_trace_is_shown_by_its_first_line() {
        let trace = Some("org.apache.kafka.connect.errors.ConnectException: /x/y.txt\n\tat Foo.bar".to_owned());
        assert_eq!(first_line(&trace), ": org.apache.kafka.connect.errors.ConnectException: /x/y.txt");
        assert_eq!(first_line(&None), "");
    }
}
