//! `cargo bench -p streamlab-model --bench forest_size`: what the forest's size buys. For
//! forests of 10 to 100 trees (the shipped hyperparameters otherwise), the held-out accuracy
//! on the fixed split, the 5-fold cross-validated accuracy, the size, and batch prediction
//! speed on one core. The prediction's share of the inference service's time is the forest
//! walk (`cargo bench -p streamlab --bench inference` profiles it); this table says what a
//! smaller forest would cost in accuracy. Needs the data set (../shared/data or
//! $STREAMLAB_DATA).

use linfa::ParamGuard;
use linfa::prelude::*;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;
use streamlab_model::data::{load_csv, stratified_split};
use streamlab_model::evaluate::{Metrics, cross_validate};
use streamlab_model::train::{CV_FOLDS, SPLIT_SEED, TEST_SHARE, shipped_params};

fn main() {
    let csv = std::env::var_os("STREAMLAB_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mushroom_cleaned.csv"));
    if !csv.exists() {
        eprintln!("forest_size needs the data set at {} (or $STREAMLAB_DATA)", csv.display());
        return;
    }
    let data = load_csv(&csv).unwrap();
    let (train, test) = stratified_split(&data, TEST_SHARE, SPLIT_SEED);
    println!(
        "{:>6} {:>10} {:>18} {:>9} {:>12} {:>12}",
        "trees", "held-out", "cv accuracy", "nodes", "rows/s", "µs/row"
    );
    for n in [10, 20, 30, 50, 75, 100] {
        let params = shipped_params().n_trees(n).check().unwrap();
        let forest = params.fit(&train).unwrap();
        let holdout = Metrics::of(&forest, &test).unwrap();
        let cv = cross_validate(&params, &data, CV_FOLDS, SPLIT_SEED, |_| {}).unwrap();
        let rows = test.records();
        let started = Instant::now();
        let mut passes = 0;
        while started.elapsed().as_secs_f64() < 1.0 || passes < 3 {
            black_box(forest.predict_proba(black_box(rows)));
            passes += 1;
        }
        let per_row = started.elapsed().as_secs_f64() / (passes * rows.nrows()) as f64;
        println!(
            "{n:>6} {:>10.4} {:>11.4} ± {:.4} {:>9} {:>12.0} {:>12.2}",
            holdout.accuracy,
            cv.mean,
            cv.std,
            forest.n_nodes(),
            1.0 / per_row,
            per_row * 1e6
        );
    }
}
