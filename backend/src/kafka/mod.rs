//! Everything that talks Kafka, below the web and the services: how clients are configured,
//! the embedded broker, reading the cluster, creating and deleting topics, consumer groups,
//! records as the lab shows them, and the Avro files of the experiment producer.
//!
//! Nothing here knows of the web server or the commands; both build on it.

pub mod admin;
pub mod avro;
pub mod broker;
pub mod config;
pub mod delivery;
pub mod doctor;
pub mod groups;
pub mod metadata;
pub mod records;

pub use config::{KafkaConfig, parse_property};
