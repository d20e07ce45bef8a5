//! The mushroom model that streamlab's services share.
//!
//! Layout:
//! - [`features`]: the eight features under their JSON names, and request validation.
//! - [`data`]: the CSV as a linfa `Dataset`, stratified splits and folds.
//! - [`forest`]: a random forest written as a linfa estimator (`ParamGuard` params that
//!   `Fit`, a model that `PredictInplace`s), because linfa-trees 0.8.1 mis-searches splits.
//! - [`evaluate`]: linfa's confusion matrix and scores, and cross-validation.
//! - [`train`]: the pipeline behind `streamlab model train` / `eval`.
//! - [`artifact`]: the versioned, hashed model file that is committed and loaded at start.
//! - [`profile`]: the data profile the request generator draws from.

pub mod artifact;
pub mod data;
pub mod evaluate;
pub mod features;
pub mod forest;
pub mod profile;
pub mod train;

pub use artifact::{Artifact, ArtifactError, Prediction};
pub use features::{Class, FEATURES, MushroomFeatures, N_FEATURES, ValidationError};
