//! The cluster, its topics and their records. Each handler asks [`crate::web::access`]
//! whether its caller may do what it asks, after the name itself has been checked, so a
//! name like `../x` is a bad request whoever sends it.

use super::{blocking, download};
use crate::kafka::records::RecordsError;
use crate::kafka::registry::Schemas;
use crate::kafka::{admin, configs, records};
use crate::web::access::{Act, Caller};
use crate::web::error::ApiError;
use crate::web::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rdkafka::message::{Header as KafkaHeader, Headers, Message, OwnedHeaders};
use serde::Deserialize;
use streamlab_wire::export;
use streamlab_wire::filter::Filter;
use streamlab_wire::{
    AlterTopicConfigs, ClusterInfo, CreateTopic, ProduceRecord, Produced, ResendRecord, Resent, StartPosition,
    TopicConfigs, TopicInfo, TrimPrefix, Trimmed,
};

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
    let settings: Vec<(String, String)> = t.configs.clone().into_iter().collect();
    admin::create_replicated_topic(&state.kafka, &t.name, t.partitions, t.replicas.unwrap_or(-1), &settings).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// The topic's settings with their meaning; on the embedded broker, each one it keeps but
/// does not follow says so.
pub async fn topic_configs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<TopicConfigs>, ApiError> {
    admin::validate_topic_name(&name)?;
    state.access.topic(&caller, Act::Read, &name)?;
    Ok(Json(configs::describe(&state.kafka, &name, state.info.embedded_broker).await?))
}

/// Changes settings, guarded as deleting the topic is (a retention of one second deletes
/// as surely). Answers with the settings after.
pub async fn alter_topic_configs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Result<Json<AlterTopicConfigs>, JsonRejection>,
) -> Result<Json<TopicConfigs>, ApiError> {
    let Json(change) = body?;
    admin::validate_topic_name(&name)?;
    state.access.topic(&caller, Act::Delete, &name)?;
    let set: Vec<(String, String)> = change.set.into_iter().collect();
    Ok(Json(configs::change(&state.kafka, &name, set, change.delete, state.info.embedded_broker).await?))
}

/// Deletes a partition's records below an offset, guarded as deleting the topic is.
pub async fn trim_topic(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Result<Json<TrimPrefix>, JsonRejection>,
) -> Result<Json<Trimmed>, ApiError> {
    let Json(trim) = body?;
    admin::validate_topic_name(&name)?;
    state.access.topic(&caller, Act::Delete, &name)?;
    let start = configs::trim_prefix(&state.kafka, &name, trim.partition, trim.offset).await?;
    Ok(Json(Trimmed { partition: trim.partition, log_start_offset: start }))
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

/// The most records one read returns.
const MAX_READ: usize = 10_000;

#[derive(Debug, Deserialize)]
pub struct ReadQuery {
    /// earliest | latest | newest:N | offset:N | timestamp:MS
    from: Option<String>,
    /// Comma-separated partition ids.
    partitions: Option<String>,
    limit: Option<usize>,
    /// Only the records this filter matches (the grammar is in `streamlab_wire::filter`).
    filter: Option<String>,
    /// json (default) | jsonl | csv: the last two download as a file.
    format: Option<String>,
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

/// `GET /api/topics/{topic}/records`: a read from `from` to the end, filtered on the server.
/// The headers `x-records-scanned` and `x-records-matched` say how many records were read and
/// how many matched; `format=jsonl` or `format=csv` downloads them as a file.
pub async fn read_records(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(topic): Path<String>,
    Query(q): Query<ReadQuery>,
) -> Result<Response, ApiError> {
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
    if !(1..=MAX_READ).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {MAX_READ}")));
    }
    let filter = q.filter.as_deref().map(Filter::parse).transpose().map_err(ApiError::bad_request)?;
    let format = q.format.as_deref().unwrap_or("json");
    if !["json", "jsonl", "csv"].contains(&format) {
        return Err(ApiError::bad_request(format!("format must be json, jsonl or csv, got `{format}`")));
    }
    let (kafka, t, schemas) = (state.kafka.clone(), topic.clone(), state.schemas.clone());
    let found = blocking(move || {
        records::read(
            &kafka,
            &t,
            from,
            partitions.as_deref(),
            limit,
            filter.as_ref(),
            schemas.as_deref().map(|r| r as &dyn Schemas),
        )
    })
    .await?;
    let counts = [
        (HeaderName::from_static("x-records-scanned"), HeaderValue::from(found.scanned)),
        (HeaderName::from_static("x-records-matched"), HeaderValue::from(found.records.len())),
    ];
    let body = match format {
        "jsonl" => download(&format!("{topic}.jsonl"), export::records_jsonl(&found.records)),
        "csv" => download(&format!("{topic}.csv"), export::records_csv(&found.records)),
        _ => Json(found.records).into_response(),
    };
    Ok((counts, body).into_response())
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
    existing(&state, &topic).await?;
    let produced = records::produce(&state.producer, &topic, &record, state.limits.max_record_bytes).await?;
    Ok((StatusCode::CREATED, Json(produced)))
}

/// Records go only to existing topics: a typo should not quietly create a new one.
async fn existing(state: &AppState, topic: &str) -> Result<(), ApiError> {
    if !state.feeds.topics.borrow().iter().any(|t| t.name == topic) {
        let (kafka, t) = (state.kafka.clone(), topic.to_owned());
        blocking(move || {
            let c: rdkafka::consumer::BaseConsumer = kafka.client().create()?;
            records::partitions(&c, &t, None)
        })
        .await?;
    }
    Ok(())
}

/// The header a re-sent record carries: `topic/partition/offset` of the original.
pub const RESENT_FROM: &str = "resent-from";

/// `POST /api/topics/{topic}/records/{partition}/{offset}/resend`: one stored record sent
/// again, to its topic or another, as stored or with a new key, value or headers.
pub async fn resend(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((topic, partition, offset)): Path<(String, i32, i64)>,
    body: Result<Json<ResendRecord>, JsonRejection>,
) -> Result<(StatusCode, Json<Resent>), ApiError> {
    let Json(edit) = body?;
    let to = edit.to.clone().unwrap_or_else(|| topic.clone());
    admin::validate_topic_name(&topic)?;
    admin::validate_topic_name(&to)?;
    state.access.topic(&caller, Act::Read, &topic)?;
    state.access.topic(&caller, Act::Resend, &to)?;
    existing(&state, &to).await?;
    let (kafka, t) = (state.kafka.clone(), topic.clone());
    let original = blocking(move || records::fetch(&kafka, &t, partition, offset)).await?;
    let resent_from = format!("{topic}/{partition}/{offset}");
    let key = edit.key.as_deref().map(str::as_bytes).or(original.key());
    let value = edit.value.as_deref().map(str::as_bytes).or(original.payload());
    let mut headers: Vec<(&str, Option<&[u8]>)> = match &edit.headers {
        Some(hs) => hs.iter().map(|h| (h.key.as_str(), h.value.as_deref().map(str::as_bytes))).collect(),
        None => original.headers().into_iter().flat_map(|hs| hs.iter()).map(|h| (h.key, h.value)).collect(),
    };
    // A copy of a copy names the record it was read from, not the first original.
    headers.retain(|(k, _)| *k != RESENT_FROM);
    headers.push((RESENT_FROM, Some(resent_from.as_bytes())));
    let size = [key, value].iter().map(|b| b.map_or(0, <[u8]>::len)).sum::<usize>()
        + headers.iter().map(|(k, v)| k.len() + v.map_or(0, <[u8]>::len)).sum::<usize>();
    if size > state.limits.max_record_bytes {
        return Err(RecordsError::TooLarge { size, limit: state.limits.max_record_bytes }.into());
    }
    let headers =
        headers.into_iter().fold(OwnedHeaders::new(), |hs, (key, value)| hs.insert(KafkaHeader { key, value }));
    let produced = records::produce_bytes(&state.producer, &to, key, value, headers).await?;
    Ok((
        StatusCode::CREATED,
        Json(Resent { topic: to, partition: produced.partition, offset: produced.offset, resent_from }),
    ))
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
