//! Evaluation with linfa's metrics: the confusion matrix, accuracy, and precision, recall
//! and F1 for the poisonous class; and k-fold cross-validation.

use crate::data::{Samples, select, stratified_folds};
use crate::forest::{ForestError, ForestValidParams, RandomForest};
use linfa::prelude::*;
use serde::{Deserialize, Serialize};

/// Metrics of a model on one labelled data set. Poisonous (label 1) is the positive class:
/// a poisonous mushroom called edible (a false negative) is the costly mistake.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub rows: usize,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Poisonous called poisonous.
    pub true_positive: usize,
    /// Edible called poisonous.
    pub false_positive: usize,
    /// Poisonous called edible.
    pub false_negative: usize,
    /// Edible called edible.
    pub true_negative: usize,
}

impl Metrics {
    pub fn of(model: &RandomForest, data: &Samples) -> Result<Metrics, ForestError> {
        let predicted = model.predict(data.records());
        Self::from_predictions(&predicted, data.targets())
    }

    pub fn from_predictions(
        predicted: &ndarray::Array1<usize>,
        truth: &ndarray::Array1<usize>,
    ) -> Result<Metrics, ForestError> {
        // linfa orders a binary matrix [1, 0], so its precision and recall are those of
        // label 1, poisonous.
        let cm = predicted.confusion_matrix(truth)?;
        let mut counts = [[0usize; 2]; 2];
        for (&p, &t) in predicted.iter().zip(truth.iter()) {
            counts[p][t] += 1;
        }
        Ok(Metrics {
            rows: truth.len(),
            accuracy: f64::from(cm.accuracy()),
            precision: f64::from(cm.precision()),
            recall: f64::from(cm.recall()),
            f1: f64::from(cm.f1_score()),
            true_positive: counts[1][1],
            false_positive: counts[1][0],
            false_negative: counts[0][1],
            true_negative: counts[0][0],
        })
    }

    /// The confusion matrix and scores as a plain-text table.
    pub fn table(&self) -> String {
        format!(
            "                     actual poisonous  actual edible\n\
             predicted poisonous  {:>16}  {:>13}\n\
             predicted edible     {:>16}  {:>13}\n\
             \n\
             accuracy   {:.4}  ({} rows)\n\
             precision  {:.4}  (poisonous)\n\
             recall     {:.4}  (poisonous)\n\
             f1         {:.4}  (poisonous)\n",
            self.true_positive,
            self.false_positive,
            self.false_negative,
            self.true_negative,
            self.accuracy,
            self.rows,
            self.precision,
            self.recall,
            self.f1
        )
    }
}

/// Accuracy over k stratified folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    pub folds: Vec<f64>,
    pub mean: f64,
    /// Sample standard deviation over the folds.
    pub std: f64,
}

impl CrossValidation {
    pub fn from_folds(folds: Vec<f64>) -> Self {
        let n = folds.len() as f64;
        let mean = folds.iter().sum::<f64>() / n;
        let var = folds.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        CrossValidation { folds, mean, std: var.sqrt() }
    }
}

/// k-fold cross-validated accuracy; `progress(fold_done)` after each fold.
pub fn cross_validate(
    params: &ForestValidParams,
    data: &Samples,
    k: usize,
    seed: u64,
    mut progress: impl FnMut(usize),
) -> Result<CrossValidation, ForestError> {
    let folds = stratified_folds(data.targets().as_slice().expect("contiguous labels"), k, seed);
    let mut scores = Vec::with_capacity(k);
    for (i, test_rows) in folds.iter().enumerate() {
        let train_rows: Vec<usize> =
            folds.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, f)| f.iter().copied()).collect();
        let model = params.fit(&select(data, &train_rows))?;
        scores.push(Metrics::of(&model, &select(data, test_rows))?.accuracy);
        progress(i + 1);
    }
    Ok(CrossValidation::from_folds(scores))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn poisonous_is_the_positive_class() {
        let predicted = array![1, 1, 0, 0, 0];
        let truth = array![1, 0, 1, 0, 0];
        let m = Metrics::from_predictions(&predicted, &truth).unwrap();
        assert_eq!((m.true_positive, m.false_positive, m.false_negative, m.true_negative), (1, 1, 1, 2));
        assert!((m.accuracy - 0.6).abs() < 1e-6);
        assert!((m.precision - 0.5).abs() < 1e-6);
        assert!((m.recall - 0.5).abs() < 1e-6);
    }

    #[test]
    fn cv_spread_is_the_sample_std() {
        let cv = CrossValidation::from_folds(vec![0.98, 0.99, 1.0]);
        assert!((cv.mean - 0.99).abs() < 1e-12);
        assert!((cv.std - 0.01).abs() < 1e-12);
    }
}
