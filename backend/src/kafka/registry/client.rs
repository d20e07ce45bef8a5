//! A producer's side of a Schema Registry: registering a schema over the REST API, as
//! confluent-kafka's serializers do, for `streamlab experiment --schema-registry`.

use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no Schema Registry answers at {url}: {reason} (the lab serves one on 127.0.0.1:8081)")]
    Unreachable { url: String, reason: String },
    #[error("the Schema Registry at {url} refused {subject} ({status}): {message}")]
    Refused { url: String, subject: String, status: u16, message: String },
}

/// Registers `schema` (Avro) under `subject` at the registry `url`; the id it is known by.
pub async fn register(url: &str, subject: &str, schema: &str) -> Result<u32, ClientError> {
    let url = url.trim_end_matches('/');
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("a plain HTTP client builds");
    let unreachable = |e: reqwest::Error| ClientError::Unreachable { url: url.to_owned(), reason: e.to_string() };
    let response = http
        .post(format!("{url}/subjects/{subject}/versions"))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(json!({"schema": schema}).to_string())
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match body.get("id").and_then(Value::as_u64) {
        Some(id) if status == 200 => Ok(id as u32),
        _ => Err(ClientError::Refused {
            url: url.to_owned(),
            subject: subject.to_owned(),
            status,
            message: body.get("message").and_then(Value::as_str).unwrap_or("no message").to_owned(),
        }),
    }
}
