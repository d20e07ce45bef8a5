//! streamlab: a real-time inference service and a browser lab for teaching Kafka streaming.
//!
//! This is the map of `backend/src` (README points here; `tests/it/layout.rs` checks that
//! every module is named in its parent's documentation and that the layering holds). The
//! crate is layered; each layer uses only the ones listed before it, so reading from the
//! top, nothing refers to what comes later, and no two modules of one folder use each other.
//!
//! - [`shutdown`]: the one shutdown signal (Ctrl-C or SIGTERM) every command honours, and its
//!   children, which stop one part before another.
//! - [`kafka`]: everything that talks Kafka. `config` (`--brokers`, `-X`), `broker` (the
//!   embedded nisshi broker and its advertised address), `metadata` (topics, watermarks),
//!   `admin` (the one place topics are created and deleted), `groups`, `records` (records as
//!   the lab shows and the commands print them; reading, consuming, producing), `avro`,
//!   `delivery` (counted sends that wait on a full queue), `doctor` (the checks for "nothing
//!   arrives").
//! - [`inference`]: the inference service: requests → model → predictions or dead letters,
//!   nothing lost (`config`, `answer`, `service`, `pipeline`, `transactions`, `window`,
//!   `metrics`); and `redrive`, dead letters sent back to the request topic.
//! - [`load`]: what produces load for the course: `datagen` (the mushroom request
//!   generator), `generator` (the lab's switchable one built on it) and `experiment` (the
//!   course's experiment producer).
//! - [`exercises`]: the classroom exercises (data in `exercises/` at the top of the
//!   repository) and their checker, which reads the broker: `conditions`, `probe`, `kinds`
//!   (one module per condition kind), `compare`, `check` (and the grade book), `class` (the
//!   class tokens).
//! - [`web`]: the lab's web server: `router`, `api` (the handlers), `ws` (the websocket),
//!   `live` (tails), `sampler` (the once-a-second poller), `access`, `guard`, `error`,
//!   `state`, `assets` (the embedded browser files).
//! - [`cli`]: the flags several commands share (the cluster, the lab's and the inference
//!   service's settings).
//! - [`lab`]: the lab's composition root: [`lab::LabConfig`] from the flags, [`lab::Lab::start`]
//!   and [`lab::Lab::serve`], which is what the tests run.
//! - [`commands`]: one module per command of the binary with its flags; each
//!   `run(args, .., shutdown)` builds what it needs from the layers above. `main.rs` parses,
//!   picks the command and runs it.
//!
//! The wire types shared with the browser live in the `streamlab-wire` crate; the model, its
//! features and validation in `streamlab-model`.

pub mod cli;
pub mod commands;
pub mod exercises;
pub mod inference;
pub mod kafka;
pub mod lab;
pub mod load;
pub mod shutdown;
pub mod web;
