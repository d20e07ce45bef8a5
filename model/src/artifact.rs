//! The trained model as a file: what `streamlab model train` writes and every service loads.
//!
//! Layout: the 16-byte magic `STREAMLAB-MODEL\n`, the format version (u32, little endian),
//! the SHA-256 of the body (32 bytes), then the body: the model card and the forest,
//! encoded with postcard. The hash is checked on load, so a truncated or edited file is
//! refused with a clear error rather than predicting nonsense; the model version that
//! predictions carry is derived from it, so it changes whenever the model does.

use crate::evaluate::{CrossValidation, Metrics};
use crate::features::{Class, MushroomFeatures, N_FEATURES};
use crate::forest::{ForestValidParams, RandomForest};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use thiserror::Error;

pub const MAGIC: &[u8; 16] = b"STREAMLAB-MODEL\n";
pub const FORMAT_VERSION: u32 = 1;

/// The model shipped in the repository, trained by `streamlab model train`.
pub const SHIPPED: &[u8] = include_bytes!("../artifacts/mushroom-forest.bin");

#[derive(Debug, Error)]
pub enum ArtifactError {
    #[error("cannot read model file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("not a streamlab model file (it does not start with the streamlab magic bytes)")]
    NotAModel,
    #[error(
        "model file format version {found} is not supported (this build reads version {FORMAT_VERSION}); retrain with `streamlab model train`"
    )]
    UnsupportedVersion { found: u32 },
    #[error("model file is corrupt: its content hash does not match (truncated or modified?)")]
    HashMismatch,
    #[error("model file is corrupt: {0}")]
    Decode(String),
}

/// Where the training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingData {
    pub file_name: String,
    pub rows: usize,
    /// SHA-256 of the CSV file, hex.
    pub sha256: String,
    pub train_rows: usize,
    pub test_rows: usize,
    pub split_seed: u64,
}

/// What a user (and `streamlab model info`) needs to know about a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub algorithm: String,
    pub params: ForestValidParams,
    /// Seconds since the Unix epoch.
    pub trained_at: u64,
    pub trained_by: String,
    pub data: TrainingData,
    /// On the held-out 20 % of the stratified split.
    pub holdout: Metrics,
    pub cross_validation: CrossValidation,
    pub n_nodes: usize,
    pub max_depth: usize,
    pub train_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Body {
    card: ModelCard,
    forest: RandomForest,
}

/// A loaded (or freshly trained) model with its card.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub card: ModelCard,
    pub forest: RandomForest,
    hash: [u8; 32],
}

/// One prediction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub class: Class,
    /// P(poisonous): the share of the forest's votes.
    pub probability_poisonous: f64,
}

impl Artifact {
    pub fn new(card: ModelCard, forest: RandomForest) -> Self {
        let body = postcard::to_stdvec(&Body { card, forest }).expect("in-memory encoding");
        let hash = Sha256::digest(&body).into();
        let Body { card, forest } = postcard::from_bytes(&body).expect("round trip");
        Artifact { card, forest, hash }
    }

    /// The model shipped with this build.
    pub fn shipped() -> Result<Self, ArtifactError> {
        Self::from_bytes(SHIPPED)
    }

    pub fn load(path: &Path) -> Result<Self, ArtifactError> {
        let bytes =
            std::fs::read(path).map_err(|source| ArtifactError::Io { path: path.display().to_string(), source })?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ArtifactError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ArtifactError::NotAModel);
        }
        let rest = &bytes[MAGIC.len()..];
        if rest.len() < 36 {
            return Err(ArtifactError::Decode("file ends inside its header".into()));
        }
        let found = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
        if found != FORMAT_VERSION {
            return Err(ArtifactError::UnsupportedVersion { found });
        }
        let hash: [u8; 32] = rest[4..36].try_into().expect("32 bytes");
        let body = &rest[36..];
        if <[u8; 32]>::from(Sha256::digest(body)) != hash {
            return Err(ArtifactError::HashMismatch);
        }
        let Body { card, forest } = postcard::from_bytes(body).map_err(|e| ArtifactError::Decode(e.to_string()))?;
        if forest.n_features != N_FEATURES || forest.trees.is_empty() {
            return Err(ArtifactError::Decode(format!(
                "expected a forest over {N_FEATURES} features, found {} features and {} trees",
                forest.n_features,
                forest.trees.len()
            )));
        }
        // Node indices come from the file; check them once so prediction can trust them.
        for tree in &forest.trees {
            for (i, node) in tree.nodes.iter().enumerate() {
                let inner = node.feature != crate::forest::LEAF;
                if inner
                    && (usize::from(node.feature) >= N_FEATURES
                        || node.right as usize <= i + 1
                        || node.right as usize >= tree.nodes.len())
                {
                    return Err(ArtifactError::Decode(format!("tree node {i} points outside its tree")));
                }
            }
            if tree.nodes.is_empty() {
                return Err(ArtifactError::Decode("empty tree".into()));
            }
        }
        Ok(Artifact { card, forest, hash })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let body = postcard::to_stdvec(&Body { card: self.card.clone(), forest: self.forest.clone() })
            .expect("in-memory encoding");
        let mut out = Vec::with_capacity(MAGIC.len() + 36 + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.hash);
        out.extend_from_slice(&body);
        out
    }

    pub fn save(&self, path: &Path) -> Result<(), ArtifactError> {
        std::fs::write(path, self.to_bytes())
            .map_err(|source| ArtifactError::Io { path: path.display().to_string(), source })
    }

    /// SHA-256 of the body, hex.
    pub fn content_hash(&self) -> String {
        hex(&self.hash)
    }

    /// The version predictions carry: the algorithm and the start of the content hash.
    pub fn version(&self) -> String {
        format!("rf-{}", &self.content_hash()[..12])
    }

    pub fn predict(&self, features: &MushroomFeatures) -> Prediction {
        let p = self.forest.predict_proba_one(&features.0);
        Prediction { class: if p > 0.5 { Class::Poisonous } else { Class::Edible }, probability_poisonous: p }
    }

    /// The card as text, for `streamlab model info`.
    pub fn describe(&self) -> String {
        let c = &self.card;
        let cv = &c.cross_validation;
        format!(
            "model        {version}\n\
             format       v{FORMAT_VERSION}, sha256 {hash}\n\
             algorithm    {algo}: {trees} trees, {feat} features per split, {nodes} nodes, depth ≤ {depth}\n\
             trained      {at} (unix), {secs:.1} s, by {by}\n\
             data         {file} ({rows} rows, sha256 {dsha}…), stratified 80/20 split, seed {seed}\n\
             cv accuracy  {cvm:.4} ± {cvs:.4} over {k} folds ({folds})\n\
             \n\
             held-out test set:\n{table}",
            version = self.version(),
            hash = self.content_hash(),
            algo = c.algorithm,
            trees = self.forest.trees.len(),
            feat = c.params.max_features(),
            nodes = c.n_nodes,
            depth = c.max_depth,
            at = c.trained_at,
            secs = c.train_seconds,
            by = c.trained_by,
            file = c.data.file_name,
            rows = c.data.rows,
            dsha = &c.data.sha256[..c.data.sha256.len().min(16)],
            seed = c.data.split_seed,
            cvm = cv.mean,
            cvs = cv.std,
            k = cv.folds.len(),
            folds = cv.folds.iter().map(|a| format!("{a:.4}")).collect::<Vec<_>>().join(", "),
            table = c.holdout.table(),
        )
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_loads_and_predicts() {
        let a = Artifact::shipped().expect("shipped artifact loads");
        assert_eq!(a.forest.n_features, N_FEATURES);
        assert!(a.card.holdout.accuracy >= 0.990, "shipped accuracy {}", a.card.holdout.accuracy);
        assert!(SHIPPED.len() <= 5 * 1024 * 1024, "artifact is {} bytes", SHIPPED.len());
        // The first row of the data set, a poisonous mushroom.
        let row = MushroomFeatures::new([1372.0, 2.0, 2.0, 10.0, 3.807466754, 1545.0, 11.0, 1.804272709]).unwrap();
        assert_eq!(a.predict(&row).class, Class::Poisonous);
    }

    #[test]
    fn a_round_trip_keeps_everything() {
        let a = Artifact::shipped().unwrap();
        let b = Artifact::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.version(), b.version());
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let err = Artifact::from_bytes(b"PK\x03\x04 this is a zip file").unwrap_err();
        assert!(matches!(err, ArtifactError::NotAModel), "{err}");
        assert!(err.to_string().contains("not a streamlab model"));
    }

    #[test]
    fn a_corrupt_file_is_refused() {
        let mut bytes = SHIPPED.to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(matches!(Artifact::from_bytes(&bytes), Err(ArtifactError::HashMismatch)));
        let truncated = &SHIPPED[..SHIPPED.len() / 2];
        assert!(matches!(Artifact::from_bytes(truncated), Err(ArtifactError::HashMismatch)));
        assert!(matches!(Artifact::from_bytes(&SHIPPED[..20]), Err(ArtifactError::Decode(_))));
    }

    #[test]
    fn another_format_version_is_refused() {
        let mut bytes = SHIPPED.to_vec();
        bytes[16..20].copy_from_slice(&99u32.to_le_bytes());
        let err = Artifact::from_bytes(&bytes).unwrap_err();
        assert!(matches!(err, ArtifactError::UnsupportedVersion { found: 99 }), "{err}");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = Artifact::load(Path::new("/nonexistent/model.bin")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/model.bin"));
    }
}
