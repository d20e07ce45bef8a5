//! Idempotent producers, per partition: each batch of a producer with an id carries a
//! sequence number, so a batch the producer sent again (its acknowledgement was lost) is
//! answered with the offset it was stored at instead of being stored twice, and a batch that
//! skips a sequence is refused, as Kafka does (`OUT_OF_ORDER_SEQUENCE_NUMBER`).
//!
//! What is remembered is lost with the process: after a restart, a producer's first batch on
//! a partition starts a new history, as after Kafka expires a producer's state.

use nisshi_sans_io::ErrorCode;
use std::collections::{HashMap, VecDeque};

/// Batches remembered per producer, as Kafka keeps them (`max.in.flight.requests` is 5).
const REMEMBERED: usize = 5;

#[derive(Debug, Default)]
struct Producer {
    epoch: i16,
    /// (first sequence, last sequence, base offset) of the newest batches, oldest first.
    recent: VecDeque<(i32, i32, i64)>,
}

#[derive(Debug, Default)]
pub struct Producers {
    by_id: HashMap<i64, Producer>,
}

/// What to do with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    /// Store it: it is new (or from a producer without an id).
    Append,
    /// It was stored already, at this base offset.
    Duplicate(i64),
}

/// The sequence after `last`, which wraps at `i32::MAX` as Kafka's does.
fn after(last: i32) -> i32 {
    if last == i32::MAX { 0 } else { last + 1 }
}

fn last_of(base_sequence: i32, last_offset_delta: i32) -> i32 {
    let last = i64::from(base_sequence) + i64::from(last_offset_delta);
    if last > i64::from(i32::MAX) { (last - i64::from(i32::MAX) - 1) as i32 } else { last as i32 }
}

impl Producers {
    /// Checks a batch of `producer_id` (-1: not idempotent) before it is stored.
    pub fn check(
        &self,
        producer_id: i64,
        epoch: i16,
        base_sequence: i32,
        last_offset_delta: i32,
    ) -> Result<Sequence, ErrorCode> {
        if producer_id < 0 {
            return Ok(Sequence::Append);
        }
        let Some(p) = self.by_id.get(&producer_id) else { return Ok(Sequence::Append) };
        if epoch < p.epoch {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        if epoch > p.epoch {
            // A new epoch starts its sequences again.
            return Ok(Sequence::Append);
        }
        let last = last_of(base_sequence, last_offset_delta);
        if let Some(&(_, _, offset)) = p.recent.iter().find(|(first, l, _)| *first == base_sequence && *l == last) {
            return Ok(Sequence::Duplicate(offset));
        }
        match p.recent.back() {
            Some(&(_, newest, _)) if after(newest) != base_sequence => Err(ErrorCode::OutOfOrderSequenceNumber),
            _ => Ok(Sequence::Append),
        }
    }

    /// Remembers a batch stored at `base_offset`.
    pub fn stored(
        &mut self,
        producer_id: i64,
        epoch: i16,
        base_sequence: i32,
        last_offset_delta: i32,
        base_offset: i64,
    ) {
        if producer_id < 0 {
            return;
        }
        let p = self.by_id.entry(producer_id).or_default();
        if epoch != p.epoch {
            *p = Producer { epoch, recent: VecDeque::new() };
        }
        p.recent.push_back((base_sequence, last_of(base_sequence, last_offset_delta), base_offset));
        if p.recent.len() > REMEMBERED {
            p.recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_sent_again_gets_its_first_offset_and_a_gap_is_refused() {
        let mut p = Producers::default();
        assert_eq!(p.check(7, 0, 0, 2), Ok(Sequence::Append));
        p.stored(7, 0, 0, 2, 100);
        assert_eq!(p.check(7, 0, 3, 0), Ok(Sequence::Append));
        p.stored(7, 0, 3, 0, 103);
        assert_eq!(p.check(7, 0, 0, 2), Ok(Sequence::Duplicate(100)), "a retried batch");
        assert_eq!(p.check(7, 0, 3, 0), Ok(Sequence::Duplicate(103)));
        assert_eq!(p.check(7, 0, 5, 0), Err(ErrorCode::OutOfOrderSequenceNumber), "sequence 4 is missing");
        assert_eq!(p.check(7, 0, 4, 9), Ok(Sequence::Append));
        assert_eq!(p.check(-1, 0, -1, 0), Ok(Sequence::Append), "a producer without an id");
        assert_eq!(p.check(8, 0, 42, 0), Ok(Sequence::Append), "a producer seen first mid-sequence (after a restart)");
        p.stored(7, 1, 0, 0, 200);
        assert_eq!(p.check(7, 0, 4, 0), Err(ErrorCode::InvalidProducerEpoch), "a fenced epoch");
        assert_eq!(after(i32::MAX), 0);
        assert_eq!(last_of(i32::MAX, 1), 0);
    }
}
