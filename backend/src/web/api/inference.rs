//! The inference service's status and the model it runs.

use crate::web::state::AppState;
use axum::Json;
use axum::extract::State;
use streamlab_wire::{InferenceStatus, ModelSummary};

pub async fn inference(State(state): State<AppState>) -> Json<InferenceStatus> {
    Json(state.feeds.inference.borrow().clone())
}

pub async fn model(State(state): State<AppState>) -> Json<ModelSummary> {
    Json((*state.model).clone())
}
