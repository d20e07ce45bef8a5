//! The inference service's status, the model it runs, and redriving its dead letters.

use super::blocking;
use crate::inference::redrive;
use crate::web::access::{Act, Caller};
use crate::web::error::ApiError;
use crate::web::state::AppState;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::{Extension, Json};
use streamlab_wire::{InferenceStatus, ModelSummary, Redrive, Redriven};

pub async fn inference(State(state): State<AppState>) -> Json<InferenceStatus> {
    Json(state.feeds.inference.borrow().clone())
}

pub async fn model(State(state): State<AppState>) -> Json<ModelSummary> {
    Json((*state.model).clone())
}

/// `GET /api/model/profile`: the statistical profile of the training data the lab's
/// generator draws from — each column's range, mean, spread, quantiles, kernel bandwidth and
/// code counts — for a student writing exercise 4's generator without the CSV.
pub async fn profile() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], streamlab_model::profile::SHIPPED)
}

/// `POST /api/inference/redrive`: the dead letters of one reason go back to the request
/// topic. It writes to the lab's own topic, so it is the teacher's (see [`Act::Resend`]).
pub async fn redrive(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<Redrive>, JsonRejection>,
) -> Result<Json<Redriven>, ApiError> {
    let Json(Redrive { reason }) = body?;
    let (requests, dead_letters) = (state.info.requests.clone(), state.info.dead_letters.clone());
    state.access.topic(&caller, Act::Read, &dead_letters)?;
    state.access.topic(&caller, Act::Resend, &requests)?;
    let (kafka, producer) = (state.kafka.clone(), state.producer.clone());
    let done = blocking(move || redrive::redrive(&kafka, &producer, &dead_letters, &requests, reason.trim())).await?;
    tracing::info!(reason = %done.reason, sent = done.sent, failed_again = done.failed_again, "redrive");
    Ok(Json(done))
}
