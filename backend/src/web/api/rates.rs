//! The production and consumption rates the sampler keeps.

use crate::web::state::AppState;
use axum::Json;
use axum::extract::State;
use streamlab_wire::RateSample;

/// The last 5 minutes of 1 s samples.
pub async fn rates(State(state): State<AppState>) -> Json<Vec<RateSample>> {
    Json(state.feeds.history())
}
