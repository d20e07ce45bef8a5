//! streamlab's integration tests: one binary, a module per suite.
//!
//! Each suite talks to real parts: an embedded broker on an ephemeral loopback port, the lab
//! served on port 0, the `streamlab` binary as a user runs it, the course's Python clients,
//! headless Chromium. One binary rather than one per suite: each would link the whole backend,
//! the embedded broker and librdkafka, and cargo runs binaries one after another.
//!
//! `cargo test --release --test it -- inference::` runs one suite.
//!
//! - [`api`]: every HTTP endpoint and websocket message of the lab, and each guard rail.
//! - [`browser`]: the browser lab in headless Chromium.
//! - [`class`]: a lab a class shares: namespaces, tokens, a broker other machines reach.
//! - [`compat`]: what the embedded broker does for rdkafka clients, and its known gaps.
//! - [`connect`]: `./lab connect start|stop`, Kafka Connect beside the lab, a sink connector.
//! - [`deploy`]: the class server's compose file.
//! - [`exercises`]: every exercise solved, and each condition missed on purpose.
//! - [`generators`]: the request generator and the experiment producer.
//! - [`inference`]: the inference service: outputs, dead letters, kills, restarts.
//! - [`kafka`]: `./lab kafka start|stop`, Apache Kafka from Maven Central, and its bad inputs.
//! - [`lab`]: the lab as a user starts it, the binary included.
//! - [`layout`]: the source tree's layers and that no two sibling modules use each other.
//! - [`on_kafka`]: the guarantees on Apache Kafka: exactly once through kills and a lost broker.
//! - [`python_clients`]: the course's Python clients against the embedded broker.
//! - [`python_solutions`]: each exercise solved in Python from its README, then graded.
//! - [`registry`]: the Schema Registry with confluent-kafka's clients and `curl`, on both brokers.
//! - [`rpk_steps`]: the course's rpk steps as `streamlab` commands.
//! - [`storage`]: the embedded broker's logs: kill -9, retention, what the lab shows of them.
//! - [`streams`]: exercise 14's Kafka Streams project: its tests, its applications, its check.
//!
//! [`support`] holds what they share.
//!
//! **Running beside each other.** The harness runs as many tests at once as there are cores
//! (two on the build machine). Most tests wait on a broker and leave the cores idle, so they
//! share well. A few suites keep both cores busy or measure rates: the browser tests
//! (Chromium rendering the lab), Apache Kafka's, Kafka Connect's and Kafka Streams' JVMs, the Python solutions (a dozen clients at once), the kill and
//! SIGTERM tests of the inference service (a backlog of 20,000 requests) and the generators'
//! rate tests. Each ran beside its own tests when suites were binaries of their own; beside
//! another heavy suite they miss their deadlines: in a run without a rule, the browser's wait
//! for a re-send button timed out while Python solutions ran beside it (alone it passes in
//! 15 s). So each of their tests takes its suite's [`support::heavy`] turn: a heavy suite
//! runs beside its own tests and light ones, never beside another heavy suite. No
//! `--test-threads` is needed. (One test at a time: 15 min 17 s. Two, no rule: 7 min 56 s and
//! that failure. Two, one heavy test at a time: 11 min 4 s. Two, with suites' turns: 7 min 46 s.)

mod api;
mod browser;
mod class;
mod class_on_kafka;
mod compat;
mod connect;
mod deploy;
mod exercises;
mod generators;
mod inference;
mod kafka;
mod lab;
mod layout;
mod on_kafka;
mod python_clients;
mod python_solutions;
mod registry;
mod rpk_steps;
mod storage;
mod streams;
mod support;
