//! The inference service: requests in, predictions (or dead letters) out, nothing lost.
//!
//! Each round takes the records the consumer already has (at least one, at most
//! `max_batch`, never waiting to fill a batch), validates them with the model crate,
//! predicts the valid ones together and produces exactly one output per request: a
//! prediction, or the original bytes on the dead-letter topic with headers saying why.
//!
//! Delivery, at least once (default): a pipeline ([`pipeline`]) keeps reading while outputs
//! are in flight, and commits per partition only below the oldest unacknowledged output
//! ([`window`]). The producer is idempotent, so each partition's outputs keep their order. A
//! crash means what was not committed is answered again on restart; each output names its
//! request's partition and offset so a subscriber can drop the duplicate.
//!
//! Exactly once (`--exactly-once`): Kafka transactions, each holding the outputs of the
//! batches read in its 100 ms and their offsets (`send_offsets_to_transaction`). It needs a
//! broker with transactions (Kafka, Redpanda); the embedded broker refuses them.
//!
//! - [`config`]: the settings, the Kafka clients they make, and taking a batch.
//! - [`answer`]: a round's requests → outputs (no I/O).
//! - [`answering`]: the threads that answer batches, in the order they were read.
//! - [`service`]: sessions and restarts, at least once or exactly once.
//! - [`pipeline`]: the at-least-once reader → worker → producer pipeline.
//! - [`idle`]: in the lab, an idle service stops fetching and waits for its broker's news.
//! - [`transactions`]: the exactly-once rounds.
//! - [`window`]: which offsets may be committed while outputs are in flight.
//! - [`metrics`]: what it counts, as Prometheus text.
//! - [`redrive`]: dead letters of one reason sent back to the request topic.

pub mod answer;
mod answering;
pub mod config;
mod idle;
pub mod metrics;
mod pipeline;
pub mod redrive;
pub mod service;
mod transactions;
pub mod window;

pub use config::InferenceConfig;
pub use metrics::InferenceMetrics;
pub use service::InferenceService;
