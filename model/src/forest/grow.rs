//! Growing the trees. Every feature's rows are sorted once per tree; a node owns a
//! contiguous segment of each sorted list, so the best cut of a feature is one scan of that
//! segment, and splitting a node partitions each segment stably, keeping it sorted.

use super::{ForestError, ForestValidParams, LEAF, Node, RandomForest, SplitStrategy, Tree};
use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::prelude::*;
use ndarray::{ArrayBase, ArrayView1, Data, Ix2};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

impl<D, T> Fit<ArrayBase<D, Ix2>, T, ForestError> for ForestValidParams
where
    D: Data<Elem = f64>,
    T: AsSingleTargets<Elem = usize>,
{
    type Object = RandomForest;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<RandomForest, ForestError> {
        self.fit_with_progress(dataset, |_| {})
    }
}

impl ForestValidParams {
    /// Like `Fit::fit`, calling `progress(trees_done)` as trees finish (for a progress bar).
    pub fn fit_with_progress<D, T>(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
        progress: impl Fn(usize) + Sync,
    ) -> Result<RandomForest, ForestError>
    where
        D: Data<Elem = f64>,
        T: AsSingleTargets<Elem = usize>,
    {
        let x = dataset.records();
        let y = dataset.as_single_targets();
        let n = x.nsamples();
        if n == 0 {
            return Err(ForestError::Empty);
        }
        if let Some(&bad) = y.iter().find(|&&l| l > 1) {
            return Err(ForestError::BadLabel(bad));
        }
        for ((row, column), &value) in x.indexed_iter() {
            if !value.is_finite() {
                return Err(ForestError::NotFinite { row, column, value });
            }
        }
        let columns = Columns::new(x, y);
        let threads = match self.threads() {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            t => t,
        }
        .min(self.n_trees());

        let done = std::sync::atomic::AtomicUsize::new(0);
        let mut trees: Vec<Option<Tree>> = vec![None; self.n_trees()];
        std::thread::scope(|s| {
            // Tree i always gets seed (seed, i), so the forest does not depend on the
            // number of threads.
            for (t, chunk) in trees.chunks_mut(self.n_trees().div_ceil(threads)).enumerate() {
                let (columns, done, progress) = (&columns, &done, &progress);
                let first = t * self.n_trees().div_ceil(threads);
                s.spawn(move || {
                    for (k, slot) in chunk.iter_mut().enumerate() {
                        let tree_seed = self.seed() ^ ((first + k) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        *slot = Some(grow_tree(columns, self, tree_seed));
                        progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                    }
                });
            }
        });
        Ok(RandomForest {
            n_features: columns.n_features(),
            trees: trees.into_iter().map(|t| t.expect("every tree grown")).collect(),
        })
    }
}

/// The training data by column, with each column's row order sorted once.
struct Columns {
    values: Vec<Vec<f64>>,
    sorted: Vec<Vec<u32>>,
    labels: Vec<u8>,
}

impl Columns {
    fn new<D: Data<Elem = f64>>(x: &ArrayBase<D, Ix2>, y: ArrayView1<usize>) -> Self {
        let values: Vec<Vec<f64>> = x.columns().into_iter().map(|c| c.to_vec()).collect();
        let sorted = values
            .iter()
            .map(|col| {
                let mut idx: Vec<u32> = (0..col.len() as u32).collect();
                idx.sort_by(|&a, &b| col[a as usize].total_cmp(&col[b as usize]));
                idx
            })
            .collect();
        Columns { values, sorted, labels: y.iter().map(|&l| l as u8).collect() }
    }

    fn n_features(&self) -> usize {
        self.values.len()
    }

    fn n_rows(&self) -> usize {
        self.labels.len()
    }
}

struct Grower<'a> {
    cols: &'a Columns,
    params: &'a ForestValidParams,
    rng: SmallRng,
    /// Bootstrap weight of each row (0 = out of bag).
    weight: Vec<u32>,
    /// For each feature, the in-bag rows sorted by that feature; a node owns `start..end`.
    order: Vec<Vec<u32>>,
    goes_left: Vec<bool>,
    scratch: Vec<u32>,
    nodes: Vec<Node>,
}

struct Cut {
    feature: usize,
    threshold: f64,
    impurity: f64,
}

fn grow_tree(cols: &Columns, params: &ForestValidParams, seed: u64) -> Tree {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = cols.n_rows();
    let mut weight = vec![0u32; n];
    if params.bootstrap() {
        for _ in 0..n {
            weight[rng.gen_range(0..n)] += 1;
        }
    } else {
        weight.fill(1);
    }
    let order: Vec<Vec<u32>> =
        cols.sorted.iter().map(|s| s.iter().copied().filter(|&r| weight[r as usize] > 0).collect()).collect();
    let len = order[0].len();
    let mut g = Grower {
        cols,
        params,
        rng,
        weight,
        order,
        goes_left: vec![false; n],
        scratch: Vec::with_capacity(len),
        nodes: Vec::new(),
    };
    g.grow(0, len, 1);
    Tree { nodes: g.nodes }
}

impl Grower<'_> {
    /// Weighted (edible, poisonous) counts of a node.
    fn counts(&self, start: usize, end: usize) -> [u64; 2] {
        let mut c = [0u64; 2];
        for &r in &self.order[0][start..end] {
            c[self.cols.labels[r as usize] as usize] += u64::from(self.weight[r as usize]);
        }
        c
    }

    fn grow(&mut self, start: usize, end: usize, depth: usize) {
        let counts = self.counts(start, end);
        let total = counts[0] + counts[1];
        let leaf = Node { feature: LEAF, value: counts[1] as f64 / total as f64, right: 0 };
        let pure = counts[0] == 0 || counts[1] == 0;
        let too_deep = self.params.max_depth().is_some_and(|d| depth >= d);
        if pure || too_deep || total < u64::from(self.params.min_samples_split()) {
            self.nodes.push(leaf);
            return;
        }
        let Some(cut) = self.find_cut(start, end, counts) else {
            self.nodes.push(leaf);
            return;
        };
        let mid = self.partition(start, end, &cut);
        let me = self.nodes.len();
        self.nodes.push(Node { feature: cut.feature as u8, value: cut.threshold, right: 0 });
        self.grow(start, mid, depth + 1);
        self.nodes[me].right = self.nodes.len() as u32;
        self.grow(mid, end, depth + 1);
    }

    /// Draws candidate features without replacement; if none of the first
    /// `max_features` can split the node (all constant), keeps drawing, as scikit-learn does.
    fn find_cut(&mut self, start: usize, end: usize, counts: [u64; 2]) -> Option<Cut> {
        let f = self.cols.n_features();
        let mut features: Vec<usize> = (0..f).collect();
        let mut best: Option<Cut> = None;
        for k in 0..f {
            if k >= self.params.max_features() && best.is_some() {
                break;
            }
            let j = self.rng.gen_range(k..f);
            features.swap(k, j);
            let feature = features[k];
            let cut = match self.params.split() {
                SplitStrategy::Best => self.best_cut(feature, start, end, counts),
                SplitStrategy::Random => self.random_cut(feature, start, end, counts),
            };
            if let Some(cut) = cut
                && best.as_ref().is_none_or(|b| cut.impurity < b.impurity)
            {
                best = Some(cut);
            }
        }
        best
    }

    /// Scans the node's rows in `feature` order and tries every cut between two
    /// neighbouring distinct values of the node (the comparison linfa-trees 0.8.1 gets wrong).
    fn best_cut(&self, feature: usize, start: usize, end: usize, counts: [u64; 2]) -> Option<Cut> {
        let rows = &self.order[feature][start..end];
        let values = &self.cols.values[feature];
        let total = (counts[0] + counts[1]) as f64;
        let mut left = [0u64; 2];
        let mut best: Option<Cut> = None;
        for w in rows.windows(2) {
            let (r, next) = (w[0] as usize, w[1] as usize);
            left[self.cols.labels[r] as usize] += u64::from(self.weight[r]);
            let (v, v_next) = (values[r], values[next]);
            if v == v_next {
                continue;
            }
            let right = [counts[0] - left[0], counts[1] - left[1]];
            let impurity = weighted_gini(left, right, total);
            if best.as_ref().is_none_or(|b| impurity < b.impurity) {
                best = Some(Cut { feature, threshold: midpoint(v, v_next), impurity });
            }
        }
        best
    }

    fn random_cut(&mut self, feature: usize, start: usize, end: usize, counts: [u64; 2]) -> Option<Cut> {
        let rows = &self.order[feature][start..end];
        let values = &self.cols.values[feature];
        let (lo, hi) = (values[rows[0] as usize], values[rows[rows.len() - 1] as usize]);
        if lo >= hi {
            return None;
        }
        let threshold = self.rng.gen_range(lo..hi);
        let mut left = [0u64; 2];
        for &r in rows {
            let r = r as usize;
            if values[r] > threshold {
                break;
            }
            left[self.cols.labels[r] as usize] += u64::from(self.weight[r]);
        }
        let right = [counts[0] - left[0], counts[1] - left[1]];
        let impurity = weighted_gini(left, right, (counts[0] + counts[1]) as f64);
        Some(Cut { feature, threshold, impurity })
    }

    /// Moves the node's rows that go left to the front of every feature's segment,
    /// keeping each segment sorted. Returns where the right child starts.
    fn partition(&mut self, start: usize, end: usize, cut: &Cut) -> usize {
        let values = &self.cols.values[cut.feature];
        for &r in &self.order[cut.feature][start..end] {
            self.goes_left[r as usize] = values[r as usize] <= cut.threshold;
        }
        let mut mid = start;
        for order in &mut self.order {
            self.scratch.clear();
            let segment = &mut order[start..end];
            let mut write = 0;
            for i in 0..segment.len() {
                let r = segment[i];
                if self.goes_left[r as usize] {
                    segment[write] = r;
                    write += 1;
                } else {
                    self.scratch.push(r);
                }
            }
            segment[write..].copy_from_slice(&self.scratch);
            mid = start + write;
        }
        mid
    }
}

/// Gini impurity of a split, weighted by the sides' sizes.
fn weighted_gini(left: [u64; 2], right: [u64; 2], total: f64) -> f64 {
    fn gini(c: [u64; 2]) -> f64 {
        let n = (c[0] + c[1]) as f64;
        if n == 0.0 {
            return 0.0;
        }
        let p = c[1] as f64 / n;
        2.0 * p * (1.0 - p)
    }
    let nl = (left[0] + left[1]) as f64;
    (nl * gini(left) + (total - nl) * gini(right)) / total
}

/// A cut between two neighbouring values. The midpoint of two very close floats can
/// round to the upper one, which would send it left; fall back to the lower value then.
fn midpoint(lo: f64, hi: f64) -> f64 {
    let m = lo + (hi - lo) / 2.0;
    if m < hi { m } else { lo }
}
