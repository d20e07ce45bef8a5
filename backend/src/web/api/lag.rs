//! `GET /api/lag`: each group's lag over the sampler's 5 minutes, with its trend, so a
//! teacher sees at a glance which consumer is falling behind and whether it is catching up.

use super::rates::visible_rates;
use crate::web::access::Caller;
use crate::web::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use streamlab_wire::LagSeries;
use streamlab_wire::lag::lag_series;

pub async fn lag(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Json<Vec<LagSeries>> {
    // The samples as the caller may see them, so lag follows the same rule as the rates.
    let history: Vec<_> = state.feeds.history().into_iter().map(|s| visible_rates(&state.access, &caller, s)).collect();
    Json(lag_series(&history))
}
