//! The lab's own request generator, switched from the browser.

use super::blocking;
use crate::web::error::ApiError;
use crate::web::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use streamlab_wire::{GeneratorControl, GeneratorStatus};

pub async fn generator(State(state): State<AppState>) -> Json<GeneratorStatus> {
    Json(state.generator.status())
}

pub async fn control_generator(
    State(state): State<AppState>,
    body: Result<Json<GeneratorControl>, JsonRejection>,
) -> Result<Json<GeneratorStatus>, ApiError> {
    let Json(control) = body?;
    let generator = state.generator.clone();
    blocking(move || generator.control(&control)).await.map(Json)
}
