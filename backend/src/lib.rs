//! streamlab: a real-time inference service and a browser lab for teaching Kafka streaming.
//!
//! The crate is layered; each layer uses only the ones listed before it, so
//! reading from the top, nothing refers to what comes later.
//!
//! - [`kafka`]: everything that talks Kafka. Client configuration (`--brokers`, `-X`), the
//!   embedded broker (nisshi), reading metadata and watermarks, creating and deleting topics
//!   (only in [`kafka::admin`]), consumer groups, records as the lab shows them, Avro files.
//! - [`inference`]: the inference service: requests → model → predictions or dead letters,
//!   nothing lost; its metrics; and redriving dead letters to the request topic.
//! - [`load`]: what produces load for the course: the mushroom request generator
//!   (`datagen`), the lab's switchable generator built on it, and the experiment producer.
//! - [`exercises`]: the classroom exercises (data in `exercises/` at the top of the
//!   repository) and their checker, which reads the broker.
//! - [`web`]: the lab's web server: router, API handlers, websocket, live tails, the
//!   once-a-second sampler, guard rails, embedded browser files.
//! - [`cli`]: the flags and their environment variables; [`shutdown`]: the one shutdown
//!   signal every command honours.
//! - [`commands`]: one module per command of the binary; each `run(args, .., shutdown)` builds
//!   what it needs from the layers above. [`commands::lab::Lab::serve`] is what tests run.
//!
//! The wire types shared with the browser live in the `streamlab-wire` crate; the model, its
//! features and validation in `streamlab-model`. `tests/layout.rs` checks that no module
//! imports a layer above its own.

pub mod cli;
pub mod commands;
pub mod exercises;
pub mod inference;
pub mod kafka;
pub mod load;
pub mod shutdown;
pub mod web;
