//! The messages between the streamlab server and the browser lab.
//!
//! This crate compiles for the server (native) and the browser (wasm32), so both sides
//! use one definition of every message and cannot drift apart. Messages are JSON, tagged
//! by `type`, so a script can speak the websocket protocol too.

use serde::{Deserialize, Serialize};

/// The lab's own topics, created when the lab starts.
pub mod topics {
    pub const REQUESTS: &str = "mushroom_inference_request";
    pub const PREDICTIONS: &str = "mushroom_prediction";
    pub const DEAD_LETTERS: &str = "mushroom_inference_dead_letter";
    pub const ALL: [&str; 3] = [REQUESTS, PREDICTIONS, DEAD_LETTERS];
}

/// The path of the websocket on the server.
pub const WS_PATH: &str = "/ws";

/// One partition of a topic with its offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    pub id: i32,
    /// The first offset still stored.
    pub low: i64,
    /// The offset the next record will get.
    pub high: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: Vec<PartitionInfo>,
    /// Records stored: the sum of `high - low` over partitions.
    pub messages: i64,
}

/// Where an inference request was read, so a subscriber can drop a duplicate (the same
/// request answered twice after a crash has the same topic, partition and offset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRef {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The request record's timestamp, ms since the Unix epoch.
    pub timestamp_ms: Option<i64>,
}

/// The value of a record on `mushroom_prediction`. `backend/schemas/prediction.schema.json`
/// is its JSON Schema, the contract for subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionValue {
    /// `"edible"` or `"poisonous"`.
    pub class: String,
    /// The data set's label: 0 edible, 1 poisonous.
    pub label: u8,
    /// The model's probability for the predicted class (0.5 to 1).
    pub probability: f64,
    /// The model's probability that the mushroom is poisonous.
    pub probability_poisonous: f64,
    pub model_version: String,
    pub request: RequestRef,
    /// When the prediction was made, ms since the Unix epoch.
    pub predicted_at_ms: i64,
}

/// What the server tells a browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Sent once when the socket opens.
    Hello { version: String, brokers: String, embedded_broker: bool },
    /// The cluster's topics, sent on request and whenever they change.
    Topics { topics: Vec<TopicInfo> },
    /// The client sent something the server could not act on.
    Error { message: String },
}

/// What a browser asks of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    ListTopics,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let m = ServerMessage::Topics {
            topics: vec![TopicInfo { name: "t".into(), partitions: vec![PartitionInfo { id: 0, low: 0, high: 2 }], messages: 2 }],
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.starts_with(r#"{"type":"topics""#), "{text}");
        assert_eq!(serde_json::from_str::<ServerMessage>(&text).unwrap(), m);
        assert_eq!(serde_json::from_str::<ClientMessage>(r#"{"type":"list_topics"}"#).unwrap(), ClientMessage::ListTopics);
    }
}
