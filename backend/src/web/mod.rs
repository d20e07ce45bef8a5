//! The web server: the browser lab's files, its websocket and the HTTP API.
//!
//! - [`router`]: `app(state)`, the routes, and the layers that guard them (request rate,
//!   admin token).
//! - [`state`]: `AppState`, what every handler and socket reads.
//! - [`error`]: `ApiError`, the API's one error type, and the status each domain error gets.
//! - [`api`]: the handlers under `/api`, one module per subject.
//! - [`ws`]: the websocket protocol.
//! - [`live`]: live tails of topics for the websockets, with frame batching and skipping.
//! - [`sampler`]: the once-a-second poller behind everything live (topics, groups, rates).
//! - [`gradebook`]: the classroom's grade book, re-checking only the students whose topics
//!   or groups changed, pushed live to the teacher's page.
//! - [`access`]: who may do what (the teacher, a student in class mode, a guest).
//! - [`guard`]: the size and request-rate limits.
//! - [`assets`]: the browser lab's files, embedded at build time.
//! - [`registry`]: the Schema Registry's REST API, served on its own address beside the lab.
//!
//! Dependencies point one way: `router` uses `api` and `ws`; they use `state` and `error`;
//! `state` holds the leaf parts (`live`, `sampler`, `gradebook`, `guard`, `access`), which, like `assets` and `registry`, import
//! nothing of `web`. `tests/it/layout.rs` checks it.

pub mod access;
pub mod api;
pub mod assets;
pub mod error;
pub mod gradebook;
pub mod guard;
pub mod live;
pub mod registry;
pub mod router;
pub mod sampler;
pub mod state;
pub mod ws;

pub use registry::registry_app;
pub use router::{app, metrics_app};
pub use state::{AppState, LabInfo};
