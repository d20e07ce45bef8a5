//! `cargo bench -p streamlab-model`: single-row and batch prediction and artifact load time
//! of the shipped model, printed as a table. With `--peer` (or STREAMLAB_BENCH_PEER=1) and
//! Python with scikit-learn and the CSV available, scikit-learn's RandomForest on the same
//! split is measured in the same run and shown beside it.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use streamlab_model::Artifact;
use streamlab_model::data::{load_csv, stratified_split};
use streamlab_model::train::{SPLIT_SEED, TEST_SHARE};

/// Runs `f` repeatedly for about `budget` and returns the mean time per call.
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < budget || calls < 3 {
        f();
        calls += 1;
    }
    start.elapsed() / calls
}

fn main() {
    let artifact = Artifact::shipped().expect("shipped artifact");
    let bytes = streamlab_model::artifact::SHIPPED;
    let load = time_per_call(Duration::from_secs(2), || {
        black_box(Artifact::from_bytes(black_box(bytes)).unwrap());
    });

    let csv = std::env::var_os("STREAMLAB_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mushroom_cleaned.csv"));
    let rows = if csv.exists() {
        let data = load_csv(&csv).unwrap();
        stratified_split(&data, TEST_SHARE, SPLIT_SEED).1.records().clone()
    } else {
        // Without the data set, replay the first row of the course's example request.
        ndarray::Array2::from_shape_fn((10_000, 8), |(i, j)| {
            [1372.0, 2.0, 2.0, 10.0, 3.8, 1545.0, 11.0, 1.8][j] * (1.0 + (i % 7) as f64 * 0.01)
        })
    };
    let flat: Vec<[f64; 8]> = rows.rows().into_iter().map(|r| std::array::from_fn(|j| r[j])).collect();

    let mut i = 0;
    let single = time_per_call(Duration::from_secs(2), || {
        black_box(artifact.forest.predict_proba_one(black_box(&flat[i % flat.len()])));
        i += 1;
    });
    let batch = time_per_call(Duration::from_secs(3), || {
        black_box(artifact.forest.predict_proba(black_box(&rows)));
    });
    let batch_rate = rows.nrows() as f64 / batch.as_secs_f64();

    println!("streamlab model ({}, {} trees, {} bytes)", artifact.version(), artifact.forest.trees.len(), bytes.len());
    println!("{:<34} {:>18} {:>22}", "measure", "streamlab (Rust)", "scikit-learn RF");
    let peer = peer_figures(&csv);
    let show = |v: Option<&str>| v.map_or("-".to_owned(), str::to_owned);
    println!(
        "{:<34} {:>18} {:>22}",
        "single-row predict",
        format!("{:.2} µs", single.as_secs_f64() * 1e6),
        show(peer.as_ref().map(|p| p.0.as_str()))
    );
    println!(
        "{:<34} {:>18} {:>22}",
        format!("batch predict ({} rows, 1 core)", rows.nrows()),
        format!("{:.0} rows/s", batch_rate),
        show(peer.as_ref().map(|p| p.1.as_str()))
    );
    println!(
        "{:<34} {:>18} {:>22}",
        "artifact load",
        format!("{:.1} ms", load.as_secs_f64() * 1e3),
        show(peer.as_ref().map(|p| p.2.as_str()))
    );
}

/// scikit-learn's figures, when asked for and available.
fn peer_figures(csv: &std::path::Path) -> Option<(String, String, String)> {
    let wanted = std::env::args().any(|a| a == "--peer") || std::env::var_os("STREAMLAB_BENCH_PEER").is_some();
    if !wanted || !csv.exists() {
        return None;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/sklearn_peer.py");
    let out = std::process::Command::new("python3").arg(script).arg(csv).output().ok()?;
    if !out.status.success() {
        eprintln!("scikit-learn peer failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines().map(str::to_owned);
    Some((lines.next()?, lines.next()?, lines.next()?))
}
