//! Load on the cluster: what produces records for the course.
//!
//! - [`datagen`]: mushroom inference requests drawn from the data profile (`streamlab datagen`).
//! - [`generator`]: the lab's own request generator, [`datagen`] started and stopped from the
//!   browser.
//! - [`experiment`]: the course's temperature experiments as Avro records (`streamlab experiment`).

pub mod datagen;
pub mod experiment;
pub mod generator;
