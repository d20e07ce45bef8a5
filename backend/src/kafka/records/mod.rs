//! Records: as the lab shows them and as its commands print them, read from a topic,
//! consumed for a person, and produced.
//!
//! - [`view`]: a record decoded for reading (Avro container, JSON, text, else hex) and its
//!   JSON renderings: rpk's shape and the lab's decoded one.
//! - [`read`]: a topic's partitions and watermarks, a consumer assigned at a start, reading up
//!   to the end of what is stored now, one record by its offset; from the embedded broker's
//!   logs directly when it runs in this process.
//! - [`consume`]: `topic consume` and `tail`: records printed until a count, the end or a
//!   shutdown, alone or as a group that commits what was printed.
//! - [`produce`]: one record produced, checked first, or bytes sent again as stored.

mod consume;
mod produce;
mod read;
mod view;

pub use consume::{Consume, ConsumeError, Start, consume};
pub use produce::{produce, produce_bytes};
pub use read::{Matching, Span, assign, fetch, partitions, read, read_to_end};
pub use view::{bytes_to_json, decode, decoded_json, rpk_json, view, view_whole};

/// The header the lab's own request generator and inference service put on every record
/// they write: `streamlab-source: generator` or `inference`. The exercise checker counts
/// only a student's own work, and a subscriber can tell the lab's traffic from a class's.
pub const LAB_SOURCE: &str = "streamlab-source";
/// [`LAB_SOURCE`]'s value on the generator's requests.
pub const FROM_GENERATOR: &str = "generator";
/// [`LAB_SOURCE`]'s value on the inference service's predictions.
pub const FROM_INFERENCE: &str = "inference";

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("topic {0} does not exist")]
    NoTopic(String),
    #[error("topic {topic} has no partition {partition}")]
    NoPartition { topic: String, partition: i32 },
    #[error("the record is {size} bytes; the lab accepts at most {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("topic {topic} has no record at partition {partition}, offset {offset}")]
    NoRecord { topic: String, partition: i32, offset: i64 },
    #[error("{0}")]
    Invalid(String),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The embedded broker's logs, read directly, failed (a disk error).
    #[error("{0}")]
    Storage(#[from] std::io::Error),
}
