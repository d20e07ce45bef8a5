//! A believable temperature course for one experiment.
//!
//! Stabilization: the temperature rises (or falls) from the start temperature and reaches the
//! middle of the range on the last stabilization round, fast at first and slowing down, like
//! a thermostat bringing a bath up to temperature. Carry-out: it wanders inside the range,
//! and now and then (about one round in twenty) leaves it for one to three rounds: the
//! excursions a student's service has to notice. Each sensor reads the true temperature plus
//! its own small noise, small enough that a round's mean is on the same side of the range as
//! the truth.

use rand::Rng;
use rand::rngs::SmallRng;

use super::config::TempRange;

/// Chance that a carry-out round starts an excursion.
const EXCURSION_CHANCE: f64 = 0.05;

pub struct Course {
    start: f32,
    range: TempRange,
    stabilization: u32,
    /// The carry-out temperature's current offset from the middle, in range widths.
    wander: f32,
    /// Rounds left in the current excursion and its direction (+1 above, -1 below).
    excursion: (u32, f32),
}

impl Course {
    pub fn new(start: f32, range: TempRange, stabilization: u32) -> Self {
        Course { start, range, stabilization, wander: 0.0, excursion: (0, 1.0) }
    }

    fn width(&self) -> f32 {
        self.range.upper_threshold - self.range.lower_threshold
    }

    fn middle(&self) -> f32 {
        (self.range.lower_threshold + self.range.upper_threshold) / 2.0
    }

    /// The true temperature of round `round` (0-based, stabilization rounds first).
    pub fn temperature(&mut self, round: u32, rng: &mut SmallRng) -> f32 {
        let w = self.width();
        if round < self.stabilization {
            let progress = (round + 1) as f32 / self.stabilization as f32;
            let eased = 1.0 - (1.0 - progress).powi(2);
            return self.start + (self.middle() - self.start) * eased;
        }
        if self.excursion.0 == 0 && rng.gen_bool(EXCURSION_CHANCE) {
            self.excursion = (rng.gen_range(1..=3), if rng.gen_bool(0.5) { 1.0 } else { -1.0 });
        }
        if self.excursion.0 > 0 {
            self.excursion.0 -= 1;
            let beyond = w * rng.gen_range(0.1..0.5);
            return if self.excursion.1 > 0.0 {
                self.range.upper_threshold + beyond
            } else {
                self.range.lower_threshold - beyond
            };
        }
        // A mean-reverting walk, kept to the inner 80% of the range.
        self.wander = (0.7 * self.wander + rng.gen_range(-0.12..0.12)).clamp(-0.4, 0.4);
        self.middle() + self.wander * w
    }

    /// One sensor's reading of `truth`.
    pub fn reading(&self, truth: f32, rng: &mut SmallRng) -> f32 {
        // Uniform noise of ±2% of the width: a round's mean stays on the truth's side of a
        // threshold, since the truth is at least 10% of the width away from it.
        truth + self.width() * rng.gen_range(-0.02..0.02)
    }

    pub fn in_range(&self, temperature: f32) -> bool {
        (self.range.lower_threshold..=self.range.upper_threshold).contains(&temperature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rises_to_the_range_then_stays_in_it_with_rare_excursions() {
        let range = TempRange { lower_threshold: 100.0, upper_threshold: 150.0 };
        let mut course = Course::new(0.0, range, 10);
        let mut rng = SmallRng::seed_from_u64(1);
        let temps: Vec<f32> = (0..1010).map(|r| course.temperature(r, &mut rng)).collect();
        let (stab, carry) = temps.split_at(10);
        assert!(stab.windows(2).all(|w| w[1] > w[0]), "stabilization rises: {stab:?}");
        assert_eq!(stab[9], 125.0);
        let out = carry.iter().filter(|t| !course.in_range(**t)).count();
        // 5% of rounds start an excursion of 1–3 rounds: about 10% of rounds outside.
        assert!((40..=200).contains(&out), "{out} of 1000 carry-out rounds out of range");
        for &t in carry {
            let mean = (0..8).map(|_| course.reading(t, &mut rng)).sum::<f32>() / 8.0;
            assert_eq!(course.in_range(mean), course.in_range(t), "sensor noise moved {t} across a threshold");
        }
    }
}
