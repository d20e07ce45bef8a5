//! The inference service: requests in, predictions (or dead letters) out, nothing lost.
//!
//! Each round takes the records the consumer already has (at least one, at most
//! `max_batch`, never waiting to fill a batch), validates them with the model crate,
//! predicts the valid ones together and produces exactly one output per request: a
//! prediction, or the original bytes on the dead-letter topic with headers saying why.
//!
//! Delivery, at least once (default): the producer is idempotent, and the round's offsets
//! are committed only after every output is acknowledged. A crash between the two means
//! the round is answered again on restart; each output names its request's partition and
//! offset so a subscriber can drop the duplicate.
//!
//! Exactly once (`--exactly-once`): each round is one Kafka transaction holding the
//! outputs and the consumer offsets (`send_offsets_to_transaction`). It needs a broker with
//! transactions (Kafka, Redpanda); the embedded broker refuses them.
//!
//! - [`answer`]: a round's requests → outputs (no I/O).
//! - [`service`]: the consume → answer → deliver → commit loop.
//! - [`metrics`]: what it counts, as Prometheus text.

pub mod answer;
pub mod metrics;
pub mod service;

pub use metrics::InferenceMetrics;
pub use service::{InferenceConfig, InferenceService};
