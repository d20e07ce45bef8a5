//! Reading a Kafka Connect worker through its REST API, as the course's console does: its
//! connectors, their state, their tasks and a failed one's trace. The lab only reads; a
//! student posts, pauses and deletes connectors with `curl`, as the seed teaches.

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use streamlab_wire::{ConnectView, ConnectorView, TaskView};

/// Where `./lab connect start` serves the worker's REST API by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8083";

/// A worker answers its REST API in milliseconds; one that takes longer is stuck (a
/// rebalance, say), which is worth saying rather than waiting on.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "no Kafka Connect worker answers at {0}: start one with `./lab connect start` (or give the lab --connect-url)"
    )]
    NotRunning(String),
    #[error("the Kafka Connect worker at {url} did not answer within {} s", TIMEOUT.as_secs())]
    Slow { url: String },
    #[error("the Kafka Connect worker at {url} answered {status}: {message}")]
    Refused { url: String, status: u16, message: String },
    #[error("cannot read the Kafka Connect worker at {url}: {reason}")]
    Other { url: String, reason: String },
}

/// A Connect worker's REST API.
#[derive(Debug, Clone)]
pub struct Connect {
    pub url: String,
    http: reqwest::Client,
}

impl Connect {
    pub fn new(url: &str) -> Connect {
        let http = reqwest::Client::builder().timeout(TIMEOUT).build().expect("a plain HTTP client builds");
        Connect { url: url.trim_end_matches('/').to_owned(), http }
    }

    /// The worker and its connectors, or why they could not be read: the page shows either.
    pub async fn view(&self) -> ConnectView {
        let mut view = ConnectView { url: self.url.clone(), error: None, version: None, connectors: Vec::new() };
        match self.get("/").await {
            Ok(root) => view.version = root.get("version").and_then(Value::as_str).map(str::to_owned),
            Err(e) => {
                view.error = Some(e.to_string());
                return view;
            }
        }
        match self.connectors().await {
            Ok(connectors) => view.connectors = connectors,
            Err(e) => view.error = Some(e.to_string()),
        }
        view
    }

    /// Every connector with its status and configuration, by name.
    pub async fn connectors(&self) -> Result<Vec<ConnectorView>, ConnectError> {
        let expanded = self.get("/connectors?expand=status&expand=info").await?;
        Ok(connectors_of(&expanded))
    }

    async fn get(&self, path: &str) -> Result<Value, ConnectError> {
        let url = self.url.clone();
        let answer = self.http.get(format!("{url}{path}")).send().await.map_err(|e| {
            if e.is_connect() {
                ConnectError::NotRunning(url.clone())
            } else if e.is_timeout() {
                ConnectError::Slow { url: url.clone() }
            } else {
                ConnectError::Other { url: url.clone(), reason: e.to_string() }
            }
        })?;
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if status != 200 {
            // Connect's errors are `{"error_code": 409, "message": "..."}`.
            let message = body.get("message").and_then(Value::as_str).unwrap_or("no message").to_owned();
            return Err(ConnectError::Refused { url, status, message });
        }
        Ok(body)
    }
}

/// The connectors of an expanded listing: `{name: {"status": {...}, "info": {...}}}`.
pub fn connectors_of(expanded: &Value) -> Vec<ConnectorView> {
    let Some(all) = expanded.as_object() else { return Vec::new() };
    all.iter()
        .map(|(name, c)| {
            let (status, info) = (&c["status"], &c["info"]);
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            let config: BTreeMap<String, String> = info["config"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                        .collect()
                })
                .unwrap_or_default();
            let kind = status["type"].as_str().or(info["type"].as_str()).unwrap_or("unknown").to_owned();
            let topics = ["topics", "topics.regex", "topic"].iter().find_map(|k| config.get(*k)).cloned();
            // Connect names a sink's group after the connector unless the config overrides it.
            let group = (kind == "sink").then(|| {
                config.get("consumer.override.group.id").cloned().unwrap_or_else(|| format!("connect-{name}"))
            });
            let mut tasks: Vec<TaskView> = status["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| TaskView {
                    id: t["id"].as_i64().unwrap_or(-1) as i32,
                    state: text(&t["state"]),
                    worker: text(&t["worker_id"]),
                    trace: t["trace"].as_str().map(str::to_owned),
                })
                .collect();
            tasks.sort_by_key(|t| t.id);
            ConnectorView {
                name: name.clone(),
                kind,
                class: config.get("connector.class").cloned().unwrap_or_default(),
                topics,
                state: text(&status["connector"]["state"]),
                worker: text(&status["connector"]["worker_id"]),
                trace: status["connector"]["trace"].as_str().map(str::to_owned),
                tasks,
                group,
                config,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_expanded_listing_gives_each_connector_its_state_tasks_traces_and_group() {
        let listing = json!({
            "hdfs-sink": {
                "status": {"name": "hdfs-sink", "connector": {"state": "RUNNING", "worker_id": "127.0.0.1:8083"},
                           "tasks": [{"id": 1, "state": "FAILED", "worker_id": "127.0.0.1:8083", "trace": "java.io.IOException: no"},
                                     {"id": 0, "state": "RUNNING", "worker_id": "127.0.0.1:8083"}],
                           "type": "sink"},
                "info": {"name": "hdfs-sink", "type": "sink", "tasks": [],
                         "config": {"connector.class": "FileStreamSink", "topics": "INGESTION", "tasks.max": "2"}}
            },
            "lines": {
                "status": {"connector": {"state": "FAILED", "worker_id": "w", "trace": "ConfigException"}, "tasks": [], "type": "source"},
                "info": {"type": "source", "config": {"connector.class": "FileStreamSource", "topic": "lines",
                                                      "consumer.override.group.id": "ignored for a source"}}
            }
        });
        let got = connectors_of(&listing);
        assert_eq!(got.len(), 2);
        let sink = &got[0];
        assert_eq!((sink.name.as_str(), sink.kind.as_str(), sink.state.as_str()), ("hdfs-sink", "sink", "RUNNING"));
        assert_eq!(sink.class, "FileStreamSink");
        assert_eq!(sink.topics.as_deref(), Some("INGESTION"));
        assert_eq!(sink.group.as_deref(), Some("connect-hdfs-sink"));
        assert_eq!(
            sink.tasks.iter().map(|t| (t.id, t.state.as_str())).collect::<Vec<_>>(),
            [(0, "RUNNING"), (1, "FAILED")]
        );
        assert_eq!(sink.tasks[1].trace.as_deref(), Some("java.io.IOException: no"));
        let source = &got[1];
        assert_eq!((source.kind.as_str(), source.state.as_str()), ("source", "FAILED"));
        assert_eq!((source.topics.as_deref(), source.group.as_deref()), (Some("lines"), None));
        assert_eq!(source.trace.as_deref(), Some("ConfigException"));
        assert!(connectors_of(&json!([])).is_empty());
    }

    #[tokio::test]
    async fn a_worker_that_is_not_there_is_said_with_what_to_do() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let view = Connect::new(&format!("http://127.0.0.1:{port}/")).view().await;
        assert_eq!(view.url, format!("http://127.0.0.1:{port}"));
        let error = view.error.unwrap();
        assert!(error.contains("no Kafka Connect worker answers") && error.contains("./lab connect start"), "{error}");
        assert!(view.connectors.is_empty());
    }
}
