//! A statistical profile of the training data, so that the request generator can draw
//! realistic requests without the CSV at run time.
//!
//! Per column: range, integer-ness, mean, spread, quantiles and a kernel bandwidth
//! (Silverman's rule). Joint structure: every combination of the four categorical codes
//! and the season that occurs in the data, with its count and the mean and spread of the
//! three measurements inside it — enough to draw requests whose categories occur together
//! in real mushrooms and whose sizes fit them.

use crate::artifact::hex;
use crate::data::{DataError, load_csv};
use crate::features::{FEATURES, FeatureKind, MushroomFeatures, N_FEATURES};
use rand::Rng;
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
    /// The 0th, 10th, …, 100th percentiles of each column in [`MEASUREMENTS`] among these
    /// rows: their distribution inside the combination, whatever its shape.
    pub deciles: [[f64; 11]; 3],
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
                let deciles = MEASUREMENTS.map(|j| {
                    let mut v: Vec<f64> = rows.iter().map(|&r| x[[r, j]]).collect();
                    v.sort_by(f64::total_cmp);
                    std::array::from_fn(|d| interpolate(&v, d as f64 / 10.0))
                });
                Combination { key: key.map(f64::from_bits), count: rows.len() as u64, deciles }
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

/// How the generator picks categorical codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Categoricals {
    /// Each code uniformly in its range, independently: the course generator's behaviour.
    /// Combinations appear that no real mushroom has.
    Uniform,
    /// Codes and season together as they occur in the data, weighted by how often.
    Joint,
}

/// Draws requests from a profile: pick a combination of codes (by its frequency), then
/// each measurement from that combination's own distribution (its deciles) with kernel
/// noise — a kernel density sampler over the data's clusters, without the rows.
/// Measurements stay inside the column's observed range and integer columns stay integer.
pub struct Sampler {
    profile: DataProfile,
    cumulative: Vec<u64>,
}

impl Sampler {
    pub fn new(profile: DataProfile) -> Self {
        let cumulative = profile
            .combinations
            .iter()
            .scan(0u64, |acc, c| {
                *acc += c.count;
                Some(*acc)
            })
            .collect();
        Sampler { profile, cumulative }
    }

    pub fn profile(&self) -> &DataProfile {
        &self.profile
    }

    fn combination(&self, rng: &mut impl Rng) -> &Combination {
        let total = *self.cumulative.last().expect("a profile has combinations");
        let pick = rng.gen_range(0..total);
        let i = self.cumulative.partition_point(|&c| c <= pick);
        &self.profile.combinations[i]
    }

    pub fn sample(&self, mode: Categoricals, rng: &mut impl Rng) -> MushroomFeatures {
        let combo = self.combination(rng);
        let mut values = [0.0; N_FEATURES];
        for (k, &j) in COMBINATION_KEY.iter().enumerate() {
            values[j] = match (mode, FEATURES[j].kind) {
                (Categoricals::Uniform, FeatureKind::Categorical { max }) => f64::from(rng.gen_range(0..=max)),
                _ => combo.key[k],
            };
        }
        for (k, &j) in MEASUREMENTS.iter().enumerate() {
            // Inverse transform sampling between the combination's deciles, plus kernel noise
            // of the column's bandwidth so that small combinations do not repeat their rows.
            let column = &self.profile.columns[j];
            let mut v = f64::NAN;
            // Redraw rather than clamp, so the range edges do not pile up.
            for _ in 0..64 {
                let candidate = interpolate(&combo.deciles[k], rng.r#gen()) + column.bandwidth * standard_normal(rng);
                let candidate = if column.integer { candidate.round() } else { candidate };
                if candidate >= column.min && candidate <= column.max {
                    v = candidate;
                    break;
                }
            }
            values[j] = if v.is_nan() { combo.deciles[k][5] } else { v };
        }
        MushroomFeatures::new(values).expect("a sample from the profile is a valid request")
    }
}

/// The value at quantile `q` of sorted `values`, linearly interpolated.
fn interpolate(values: &[f64], q: f64) -> f64 {
    let pos = q * (values.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    match values.get(i + 1) {
        Some(next) => values[i] + frac * (next - values[i]),
        None => values[i],
    }
}

/// Box–Muller: one standard normal draw.
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// The two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical
/// distribution functions of `a` and `b`.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ks_of_identical_samples_is_zero_and_of_disjoint_is_one() {
        let a: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(ks_statistic(&a, &a), 0.0);
        let b: Vec<f64> = (200..300).map(f64::from).collect();
        assert_eq!(ks_statistic(&a, &b), 1.0);
    }

    #[test]
    fn samples_are_valid_and_joint_samples_use_real_combinations() {
        let sampler = Sampler::new(DataProfile::shipped());
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        for _ in 0..10_000 {
            let f = sampler.sample(Categoricals::Joint, &mut rng);
            let key = COMBINATION_KEY.map(|j| f.0[j]);
            assert!(sampler.profile().combinations.iter().any(|c| c.key == key), "{key:?} is not a real combination");
        }
        let uniform: Vec<_> = (0..10_000).map(|_| sampler.sample(Categoricals::Uniform, &mut rng)).collect();
        // Uniform codes: every cap-shape code about equally often (the data is skewed).
        let mut counts = [0usize; 7];
        for f in &uniform {
            counts[f.0[1] as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (1200..1700).contains(&c)), "{counts:?}");
    }
}
