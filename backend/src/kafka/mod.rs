//! Everything that talks Kafka, below the web and the services.
//!
//! - [`config`]: how clients are configured (`--brokers`, `-X`).
//! - [`broker`]: the embedded broker and the address it advertises.
//! - [`connection`]: a client's connection to the embedded broker: requests in order, each
//!   answer written once what it acknowledges is on the disk.
//! - [`log`]: the embedded broker's storage of records, a log per partition, which the lab's
//!   one-off reads use directly when the broker runs in its process.
//! - [`metadata`]: reading the cluster: brokers, topics, watermarks.
//! - [`admin`]: creating and deleting topics (the one place that does).
//! - [`configs`]: a topic's settings and deleting its oldest records (rpk's `alter-config`,
//!   `trim-prefix`).
//! - [`replication`]: a topic's copies, which are in sync, and what that leaves a writer.
//! - [`groups`]: consumer groups, their offsets and lag; resetting them.
//! - [`readers`]: consumers kept warm for one-off reads.
//! - [`records`]: records as the lab shows them and the commands print them; reading,
//!   consuming and producing them.
//! - [`avro`]: the Avro object container files of the experiment producer.
//! - [`producer`]: producers whose acknowledgements their own thread serves, in long polls.
//! - [`delivery`]: counted sends that wait while the producer's queue is full.
//! - [`security`]: SCRAM users and ACLs (who may sign in, and do what), and why a client was
//!   turned away.
//! - [`doctor`]: the checks behind `streamlab doctor`, for "nothing arrives".
//! - [`python`]: the doctor's checks of the Python clients a student runs the exercises with.
//! - [`connect`]: a Kafka Connect worker's connectors, read through its REST API.
//! - [`registry`]: the lab's Schema Registry (Confluent's API), its schemas kept in `_schemas`.
//!
//! Nothing here knows of the web server or the commands; both build on it.

pub mod admin;
pub mod avro;
pub mod broker;
pub mod config;
pub mod configs;
pub mod connect;
pub mod connection;
pub mod delivery;
pub mod doctor;
pub mod groups;
pub mod log;
pub mod metadata;
pub mod producer;
pub mod python;
pub mod readers;
pub mod records;
pub mod registry;
pub mod replication;
pub mod security;

pub use config::{KafkaConfig, parse_property};
