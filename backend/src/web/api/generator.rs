//! The lab's own request generator, switched from the browser.

use super::blocking;
use crate::web::access::Caller;
use crate::web::error::ApiError;
use crate::web::state::AppState;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::{Extension, Json};
use streamlab_wire::{GeneratorControl, GeneratorStatus};

pub async fn generator(State(state): State<AppState>) -> Json<GeneratorStatus> {
    Json(state.generator.status())
}

/// The teacher's: the generator feeds everyone's request topic.
pub async fn control_generator(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<GeneratorControl>, JsonRejection>,
) -> Result<Json<GeneratorStatus>, ApiError> {
    let Json(control) = body?;
    state.access.teacher(&caller, "switch the request generator")?;
    let generator = state.generator.clone();
    blocking(move || generator.control(&control)).await.map(Json)
}
