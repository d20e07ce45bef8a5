//! streamlab: a real-time inference service and a browser lab for teaching Kafka streaming.
//!
//! Layout (each module does one thing):
//! - [`cli`]: the flags and their environment variables.
//! - [`broker`]: the embedded Kafka-compatible broker (nisshi), used when no `--brokers`.
//! - [`kafka`]: client configuration (`--brokers`, `-X`) and topic creation.
//! - [`cluster`]: reading topics and watermarks.
//! - [`lab`]: the whole lab: broker, lab topics, web server. `Lab::serve(listener,
//!   shutdown)` is what tests run.
//! - [`web`]: the router (`app()`) and the websocket protocol.
//! - [`api`]: the HTTP API under `/api`.
//! - [`sampler`]: the once-a-second poller behind everything live (topics, groups, rates).
//! - [`live`]: live tails of topics for one websocket, with frame batching and skipping.
//! - [`records`]: records as the lab shows them; reading and producing them.
//! - [`groups`]: consumer groups: members, assignments, lag, offset resets.
//! - [`generator`]: the lab's built-in request generator, controlled from the browser.
//! - [`guard`]: the admin token and the API's limits.
//! - [`assets`]: the browser lab's files, embedded at build time.
//! - [`model_cmd`]: `streamlab model train | eval | info`.
//! - [`inference`]: requests → model → predictions or dead letters, nothing lost.
//! - [`metrics`]: the inference metrics as Prometheus text.
//! - [`tail`]: `streamlab tail TOPIC`, records as JSON lines.
//! - [`datagen`]: `streamlab datagen`, the course's mushroom request generator.
//! - [`experiment`]: `streamlab experiment`, the course's experiment load producer.
//! - [`avro`]: Avro object container files (the experiment producer's values).
//! - [`exercises`]: the classroom exercises (data in `exercises/`) and their checker,
//!   `streamlab check`, and the lab's live re-checks.
//!
//! The wire types shared with the browser live in the `streamlab-wire` crate; the model,
//! its features and validation in `streamlab-model`.

pub mod api;
pub mod assets;
pub mod avro;
pub mod broker;
pub mod cli;
pub mod cluster;
pub mod datagen;
pub mod exercises;
pub mod experiment;
pub mod generator;
pub mod groups;
pub mod guard;
pub mod inference;
pub mod kafka;
pub mod lab;
pub mod live;
pub mod metrics;
pub mod model_cmd;
pub mod records;
pub mod sampler;
pub mod tail;
pub mod web;
