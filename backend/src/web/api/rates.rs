//! The production and consumption rates the sampler keeps.

use super::download;
use crate::web::access::{Access, Caller};
use crate::web::state::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Json};
use streamlab_wire::RateSample;
use streamlab_wire::export;

/// The last 5 minutes of 1 s samples, of the topics and groups the caller may see.
pub async fn rates(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Json<Vec<RateSample>> {
    Json(state.feeds.history().into_iter().map(|s| visible_rates(&state.access, &caller, s)).collect())
}

/// `GET /api/rates.csv`: the same history to download, with each group's lag per topic.
pub async fn rates_csv(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let Json(history) = rates(State(state), Extension(caller)).await;
    download("rates.csv", export::history_csv(&history))
}

/// A sample without the topics and groups `caller` may not see.
pub fn visible_rates(access: &Access, caller: &Caller, mut sample: RateSample) -> RateSample {
    sample.topics.retain(|t, _| access.visible(caller, t));
    sample.groups.retain(|g, _| access.visible(caller, g));
    sample.lag.retain(|g, _| access.visible(caller, g));
    for topics in sample.lag.values_mut() {
        topics.retain(|t, _| access.visible(caller, t));
    }
    sample
}
