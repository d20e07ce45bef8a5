//! The forest's hyperparameters: [`ForestParams`] to build them, checked by linfa's
//! [`ParamGuard`] into [`ForestValidParams`], the only kind `fit` accepts. The checked kind's
//! fields are private, so no unchecked value (zero trees) can reach `fit`.

use super::ForestError;
use linfa::ParamGuard;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How a node's cut point is chosen for each candidate feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitStrategy {
    /// The best cut between any two neighbouring distinct values (random forest).
    Best,
    /// One uniformly random cut between the node's min and max (extremely randomised trees).
    Random,
}

/// Hyperparameters of the forest, checked by [`ParamGuard`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestValidParams {
    n_trees: usize,
    /// Features drawn as candidates at each node.
    max_features: usize,
    max_depth: Option<usize>,
    /// A node with fewer (weighted) rows is not split.
    min_samples_split: u32,
    bootstrap: bool,
    split: SplitStrategy,
    seed: u64,
    /// Threads to grow trees on; `0` means all available cores.
    threads: usize,
}

impl ForestValidParams {
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }
    /// Features drawn as candidates at each node.
    pub fn max_features(&self) -> usize {
        self.max_features
    }
    pub fn max_depth(&self) -> Option<usize> {
        self.max_depth
    }
    /// A node with fewer (weighted) rows is not split.
    pub fn min_samples_split(&self) -> u32 {
        self.min_samples_split
    }
    pub fn bootstrap(&self) -> bool {
        self.bootstrap
    }
    pub fn split(&self) -> SplitStrategy {
        self.split
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Threads to grow trees on; `0` means all available cores.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// Unchecked hyperparameters; see [`ForestValidParams`] for their meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestParams(ForestValidParams);

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams(ForestValidParams {
            n_trees: 100,
            max_features: 3,
            max_depth: None,
            min_samples_split: 2,
            bootstrap: true,
            split: SplitStrategy::Best,
            seed: 42,
            threads: 0,
        })
    }
}

impl ForestParams {
    pub fn n_trees(mut self, n: usize) -> Self {
        self.0.n_trees = n;
        self
    }
    pub fn max_features(mut self, n: usize) -> Self {
        self.0.max_features = n;
        self
    }
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.0.max_depth = depth;
        self
    }
    pub fn min_samples_split(mut self, n: u32) -> Self {
        self.0.min_samples_split = n;
        self
    }
    pub fn bootstrap(mut self, on: bool) -> Self {
        self.0.bootstrap = on;
        self
    }
    pub fn split(mut self, split: SplitStrategy) -> Self {
        self.0.split = split;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    pub fn threads(mut self, threads: usize) -> Self {
        self.0.threads = threads;
        self
    }
}

/// Why hyperparameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ForestParamsError {
    #[error("n_trees must be at least 1")]
    NoTrees,
    #[error("max_features must be at least 1")]
    NoFeatures,
    #[error("min_samples_split must be at least 2, got {0}")]
    MinSamplesSplit(u32),
    #[error("max_depth must be at least 1")]
    ZeroDepth,
}

impl ParamGuard for ForestParams {
    type Checked = ForestValidParams;
    type Error = ForestError;

    fn check_ref(&self) -> Result<&Self::Checked, Self::Error> {
        let p = &self.0;
        if p.n_trees == 0 {
            return Err(ForestParamsError::NoTrees.into());
        }
        if p.max_features == 0 {
            return Err(ForestParamsError::NoFeatures.into());
        }
        if p.min_samples_split < 2 {
            return Err(ForestParamsError::MinSamplesSplit(p.min_samples_split).into());
        }
        if p.max_depth == Some(0) {
            return Err(ForestParamsError::ZeroDepth.into());
        }
        Ok(p)
    }

    fn check(self) -> Result<Self::Checked, Self::Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}
