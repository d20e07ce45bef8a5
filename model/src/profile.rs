//! A statistical profile of the training data, so that the request generator can draw
//! realistic requests without the CSV at run time.
//!
//! Per column: range, integer-ness, mean, spread, quantiles and a kernel bandwidth
//! (Silverman's rule). Joint structure: every combination of the four categorical codes
//! and the season that occurs in the data, with its count and the mean and spread of the
//! three measurements inside it — enough to draw requests whose categories occur together
//! in real mushrooms and whose sizes fit them.

use crate::artifact::hex;
use crate::data::{load_csv, DataError};
use crate::features::{FeatureKind, FEATURES, N_FEATURES};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The profile shipped in the repository, next to the model.
pub const SHIPPED: &str = include_str!("../artifacts/profile.json");

/// Column indices of the measurements (cap-diameter, stem-height, stem-width).
pub const MEASUREMENTS: [usize; 3] = [0, 4, 5];
/// Column indices of the categorical codes and the season, the key of a combination.
pub const COMBINATION_KEY: [usize; 5] = [1, 2, 3, 6, 7];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    pub integer: bool,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub std: f64,
    /// The 0th, 5th, …, 100th percentiles.
    pub quantiles: Vec<f64>,
    /// Gaussian kernel bandwidth by Silverman's rule of thumb.
    pub bandwidth: f64,
    /// For categorical columns: rows per code `0..=max`.
    pub code_counts: Option<Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Combination {
    /// Values of the columns in [`COMBINATION_KEY`], in that order.
    pub key: [f64; 5],
    pub count: u64,
    /// Mean of each column in [`MEASUREMENTS`] among these rows.
    pub mean: [f64; 3],
    /// Standard deviation of each measurement among these rows (0 for a single row).
    pub std: [f64; 3],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataProfile {
    pub source_file: String,
    pub source_sha256: String,
    pub rows: u64,
    pub poisonous_share: f64,
    pub columns: Vec<ColumnProfile>,
    pub combinations: Vec<Combination>,
}

impl DataProfile {
    pub fn shipped() -> Self {
        serde_json::from_str(SHIPPED).expect("the shipped profile is valid JSON")
    }

    pub fn from_csv(path: &Path) -> Result<Self, DataError> {
        let data = load_csv(path)?;
        let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.display().to_string(), source })?;
        let x = data.records();
        let n = x.nrows();
        let columns = (0..N_FEATURES)
            .map(|j| {
                let mut col: Vec<f64> = x.column(j).to_vec();
                col.sort_by(f64::total_cmp);
                let mean = col.iter().sum::<f64>() / n as f64;
                let std = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
                let q = |p: f64| col[((n - 1) as f64 * p).round() as usize];
                let iqr = q(0.75) - q(0.25);
                let spread = if iqr > 0.0 { std.min(iqr / 1.34) } else { std };
                let code_counts = match FEATURES[j].kind {
                    FeatureKind::Categorical { max } => {
                        let mut counts = vec![0u64; max as usize + 1];
                        for v in &col {
                            counts[*v as usize] += 1;
                        }
                        Some(counts)
                    }
                    FeatureKind::Numeric => None,
                };
                ColumnProfile {
                    name: FEATURES[j].name.to_owned(),
                    integer: col.iter().all(|v| v.fract() == 0.0),
                    min: col[0],
                    max: col[n - 1],
                    mean,
                    std,
                    quantiles: (0..=20).map(|i| q(f64::from(i) / 20.0)).collect(),
                    bandwidth: 0.9 * spread * (n as f64).powf(-0.2),
                    code_counts,
                }
            })
            .collect();

        // Group rows by their categorical key; BTreeMap over the keys' bit patterns keeps
        // the file's order stable from one training run to the next.
        let mut groups: BTreeMap<[u64; 5], Vec<usize>> = BTreeMap::new();
        for (i, row) in x.rows().into_iter().enumerate() {
            groups.entry(COMBINATION_KEY.map(|j| row[j].to_bits())).or_default().push(i);
        }
        let combinations = groups
            .into_iter()
            .map(|(key, rows)| {
                let stats = MEASUREMENTS.map(|j| {
                    let m = rows.iter().map(|&r| x[[r, j]]).sum::<f64>() / rows.len() as f64;
                    let v = rows.iter().map(|&r| (x[[r, j]] - m).powi(2)).sum::<f64>() / rows.len() as f64;
                    (m, v.sqrt())
                });
                Combination {
                    key: key.map(f64::from_bits),
                    count: rows.len() as u64,
                    mean: stats.map(|s| s.0),
                    std: stats.map(|s| s.1),
                }
            })
            .collect();

        Ok(DataProfile {
            source_file: path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            source_sha256: hex(&Sha256::digest(&bytes)),
            rows: n as u64,
            poisonous_share: data.targets().iter().filter(|&&l| l == 1).count() as f64 / n as f64,
            columns,
            combinations,
        })
    }
}
