//! The cluster, its topics and their records. Each handler asks [`crate::web::access`]
//! whether its caller may do what it asks, after the name itself has been checked, so a
//! name like `../x` is a bad request whoever sends it.

use super::blocking;
use crate::kafka::{admin, records};
use crate::web::access::{Act, Caller};
use crate::web::error::ApiError;
use crate::web::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use streamlab_wire::{ClusterInfo, CreateTopic, ProduceRecord, Produced, RecordView, StartPosition, TopicInfo};

pub async fn cluster(State(state): State<AppState>) -> Result<Json<ClusterInfo>, ApiError> {
    let (reader, info) = (state.cluster.clone(), state.info.clone());
    blocking(move || reader.cluster(&info.brokers, info.embedded_broker)).await.map(Json)
}

/// The topics the caller may see.
pub async fn topics(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Json<Vec<TopicInfo>> {
    let topics = state.feeds.topics.borrow().clone();
    Json(topics.into_iter().filter(|t| state.access.visible(&caller, &t.name)).collect())
}

pub async fn create_topic(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<CreateTopic>, JsonRejection>,
) -> Result<(StatusCode, Json<CreateTopic>), ApiError> {
    let Json(t) = body?;
    admin::validate_topic_name(&t.name)?;
    state.access.topic(&caller, Act::Write, &t.name)?;
    admin::create_topic(&state.kafka, &t.name, t.partitions).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

pub async fn delete_topic(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin::validate_topic_name(&name)?;
    state.access.topic(&caller, Act::Delete, &name)?;
    admin::delete_topic(&state.kafka, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct ReadQuery {
    /// earliest | latest | newest:N | offset:N | timestamp:MS
    from: Option<String>,
    /// Comma-separated partition ids.
    partitions: Option<String>,
    limit: Option<usize>,
}

/// Parses `from=` of a read.
pub fn parse_start(s: &str) -> Result<StartPosition, String> {
    let number = |v: &str| v.parse::<i64>().map_err(|_| format!("`{v}` is not a number"));
    Ok(match s.split_once(':') {
        None if s == "earliest" => StartPosition::Earliest,
        None if s == "latest" => StartPosition::Latest,
        Some(("newest", n)) => StartPosition::Newest { count: number(n)? },
        Some(("offset", n)) => StartPosition::Offset { offset: number(n)? },
        Some(("timestamp", n)) => StartPosition::Timestamp { ms: number(n)? },
        _ => return Err(format!("from must be earliest, latest, newest:N, offset:N or timestamp:MS, got `{s}`")),
    })
}

pub async fn read_records(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(topic): Path<String>,
    Query(q): Query<ReadQuery>,
) -> Result<Json<Vec<RecordView>>, ApiError> {
    admin::validate_topic_name(&topic)?;
    state.access.topic(&caller, Act::Read, &topic)?;
    let from = q
        .from
        .as_deref()
        .map_or(Ok(StartPosition::Newest { count: 20 }), parse_start)
        .map_err(ApiError::bad_request)?;
    let partitions = match q.partitions.as_deref() {
        Some(p) => Some(
            p.split(',')
                .map(|x| x.trim().parse::<i32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| ApiError::bad_request("partitions must be ids like 0,2"))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let kafka = state.kafka.clone();
    blocking(move || records::read(&kafka, &topic, from, partitions.as_deref(), limit)).await.map(Json)
}

pub async fn produce(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(topic): Path<String>,
    body: Result<Json<ProduceRecord>, JsonRejection>,
) -> Result<(StatusCode, Json<Produced>), ApiError> {
    let Json(record) = body?;
    admin::validate_topic_name(&topic)?;
    state.access.topic(&caller, Act::Write, &topic)?;
    // Only to existing topics: a typo should not quietly create a new one.
    if !state.feeds.topics.borrow().iter().any(|t| t.name == topic) {
        let (kafka, t) = (state.kafka.clone(), topic.clone());
        blocking(move || {
            let c: rdkafka::consumer::BaseConsumer = kafka.client().create()?;
            records::partitions(&c, &t, None)
        })
        .await?;
    }
    let produced = records::produce(&state.producer, &topic, &record, state.limits.max_record_bytes).await?;
    Ok((StatusCode::CREATED, Json(produced)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_positions_parse() {
        assert_eq!(parse_start("earliest"), Ok(StartPosition::Earliest));
        assert_eq!(parse_start("newest:5"), Ok(StartPosition::Newest { count: 5 }));
        assert_eq!(parse_start("offset:7"), Ok(StartPosition::Offset { offset: 7 }));
        assert_eq!(parse_start("timestamp:1700000000000"), Ok(StartPosition::Timestamp { ms: 1_700_000_000_000 }));
        assert!(parse_start("soon").is_err());
        assert!(parse_start("offset:x").is_err());
    }
}
