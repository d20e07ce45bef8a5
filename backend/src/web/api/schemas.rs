//! `GET /api/schemas`: the lab's Schema Registry for its page — the subjects the caller
//! may read, their versions with what changed, the levels. Served from the registry the lab
//! runs; a lab without one says why and how to get one.

use crate::web::access::Caller;
use crate::web::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use streamlab_wire::SchemasView;

pub async fn schemas(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Json<SchemasView> {
    let Some(registry) = &state.schemas else {
        return Json(SchemasView {
            url: None,
            error: Some(
                "this lab serves no Schema Registry: its port was taken when the lab started (see the lab's \
                 log), or it was started without one; start it with --schema-registry-addr HOST:PORT"
                    .to_owned(),
            ),
            global_level: String::new(),
            subjects: Vec::new(),
        });
    };
    let held = registry.read();
    Json(SchemasView {
        url: state.info.schema_registry.clone(),
        error: None,
        global_level: held.level(None, true).unwrap_or_default().to_string(),
        subjects: held.view(|subject| state.access.visible(&caller, subject)),
    })
}
