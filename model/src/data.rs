//! Reading the mushroom CSV into a linfa [`Dataset`], and the stratified splits that
//! evaluation uses.

use crate::features::{FEATURES, LABEL_COLUMN, N_FEATURES};
use linfa::DatasetBase;

/// Labelled rows: the eight features and the class label (0 edible, 1 poisonous).
pub type Samples = DatasetBase<Array2<f64>, Array1<usize>>;
use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Csv { path: String, source: csv::Error },
    #[error("{path}: missing column `{column}` (the header must name the eight features and `class`)")]
    MissingColumn { path: String, column: &'static str },
    #[error("{path}, line {line}: column `{column}`: {message}")]
    BadValue { path: String, line: u64, column: String, message: String },
    #[error("{path}: no rows")]
    Empty { path: String },
}

/// Loads the CSV: the eight feature columns (by header name, in any order) and `class`.
pub fn load_csv(path: &Path) -> Result<Samples, DataError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| DataError::Io { path: name.clone(), source })?;
    let mut reader = csv::Reader::from_reader(std::io::BufReader::new(file));
    let headers = reader.headers().map_err(|source| DataError::Csv { path: name.clone(), source })?.clone();
    let find = |column: &'static str| {
        headers.iter().position(|h| h.trim() == column).ok_or(DataError::MissingColumn { path: name.clone(), column })
    };
    let mut columns = [0usize; N_FEATURES];
    for (slot, feature) in columns.iter_mut().zip(FEATURES.iter()) {
        *slot = find(feature.name)?;
    }
    let label_column = find(LABEL_COLUMN)?;

    let mut values = Vec::new();
    let mut labels = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|source| DataError::Csv { path: name.clone(), source })?;
        let line = record.position().map_or(0, |p| p.line());
        let bad = |column: &str, message: String| DataError::BadValue {
            path: name.clone(),
            line,
            column: column.to_owned(),
            message,
        };
        for (&c, feature) in columns.iter().zip(FEATURES.iter()) {
            let v: f64 = record[c].trim().parse().map_err(|e| bad(feature.name, format!("{e}")))?;
            if !v.is_finite() {
                return Err(bad(feature.name, format!("not a finite number: {v}")));
            }
            values.push(v);
        }
        let label: usize = record[label_column].trim().parse().map_err(|e| bad(LABEL_COLUMN, format!("{e}")))?;
        if label > 1 {
            return Err(bad(LABEL_COLUMN, format!("must be 0 or 1, got {label}")));
        }
        labels.push(label);
    }
    if labels.is_empty() {
        return Err(DataError::Empty { path: name });
    }
    let x = Array2::from_shape_vec((labels.len(), N_FEATURES), values).expect("eight values per row");
    Ok(DatasetBase::new(x, Array1::from(labels)).with_feature_names(FEATURES.iter().map(|f| f.name).collect()))
}

/// Row indices of each fold, stratified by label: every class is shuffled with `seed` and
/// dealt round-robin into `k` folds, so each fold has the data set's class balance.
pub fn stratified_folds(labels: &[usize], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut folds = vec![Vec::new(); k];
    let mut next = 0;
    for class in 0..=labels.iter().copied().max().unwrap_or(0) {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rows.shuffle(&mut rng);
        for r in rows {
            folds[next % k].push(r);
            next += 1;
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

/// Selects rows of a data set.
pub fn select(data: &Samples, rows: &[usize]) -> Samples {
    DatasetBase::new(data.records().select(Axis(0), rows), data.targets().select(Axis(0), rows))
        .with_feature_names(data.feature_names().to_vec())
}

/// A stratified split: `test_share` of each class goes to the test set.
pub fn stratified_split(data: &Samples, test_share: f64, seed: u64) -> (Samples, Samples) {
    let labels = data.targets().to_vec();
    let mut rng = SmallRng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in 0..=labels.iter().copied().max().unwrap_or(0) {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rows.shuffle(&mut rng);
        let n_test = (rows.len() as f64 * test_share).round() as usize;
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (select(data, &train), select(data, &test))
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::dataset::Records;
    use std::io::Write;

    fn write_csv(text: &str) -> tempfile_lite::TempPath {
        let path = tempfile_lite::TempPath::new("csv");
        std::fs::File::create(&path.0).unwrap().write_all(text.as_bytes()).unwrap();
        path
    }

    /// Just enough of a temp file for these tests, removed on drop.
    mod tempfile_lite {
        pub struct TempPath(pub std::path::PathBuf);
        impl TempPath {
            pub fn new(ext: &str) -> Self {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let n = N.fetch_add(1, Ordering::Relaxed);
                TempPath(std::env::temp_dir().join(format!("streamlab-model-{}-{n}.{ext}", std::process::id())))
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    const HEADER: &str =
        "cap-diameter,cap-shape,gill-attachment,gill-color,stem-height,stem-width,stem-color,season,class\n";

    #[test]
    fn reads_columns_by_name() {
        let f = write_csv(&format!("{HEADER}1372,2,2,10,3.8,1545,11,1.8,1\n10,0,1,3,0.5,20,4,0.9,0\n"));
        let d = load_csv(&f.0).unwrap();
        assert_eq!(d.records().row(0).to_vec(), vec![1372.0, 2.0, 2.0, 10.0, 3.8, 1545.0, 11.0, 1.8]);
        assert_eq!(d.targets().to_vec(), vec![1, 0]);
    }

    #[test]
    fn names_a_bad_cell() {
        let f = write_csv(&format!("{HEADER}1372,x,2,10,3.8,1545,11,1.8,1\n"));
        let err = load_csv(&f.0).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("cap-shape"), "{err}");
    }

    #[test]
    fn names_a_missing_column() {
        let f = write_csv("a,b\n1,2\n");
        let err = load_csv(&f.0).unwrap_err().to_string();
        assert!(err.contains("missing column `cap-diameter`"), "{err}");
    }

    #[test]
    fn stratified_split_keeps_class_shares() {
        let labels: Vec<usize> = (0..1000).map(|i| usize::from(i % 10 < 3)).collect();
        let x = Array2::zeros((1000, N_FEATURES));
        let d = DatasetBase::new(x, Array1::from(labels));
        let (train, test) = stratified_split(&d, 0.2, 7);
        assert_eq!((train.nsamples(), test.nsamples()), (800, 200));
        assert_eq!(test.targets().iter().filter(|&&l| l == 1).count(), 60);
        let folds = stratified_folds(d.targets().as_slice().unwrap(), 5, 7);
        for f in &folds {
            assert_eq!(f.len(), 200);
            assert_eq!(f.iter().filter(|&&i| d.targets()[i] == 1).count(), 60);
        }
    }
}
