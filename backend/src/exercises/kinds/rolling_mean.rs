//! `rolling_mean`: the output is the mean of each `n` numbers of the input, in the order they
//! were written.

use super::found::{Found, differs, fail, n_records, pass, preview};
use crate::exercises::compare;
use crate::exercises::probe::{ProbeError, Record};
use std::collections::HashSet;

pub fn check(n: usize, inputs: &[Record], outputs: &[Record], input: &str, output: &str) -> Result<Found, ProbeError> {
    // The mean of "the last three" is defined by the input's order, which only a
    // single partition keeps.
    let partitions: HashSet<i32> = inputs.iter().map(|i| i.partition).collect();
    if partitions.len() > 1 {
        return fail(format!(
            "{input}'s records are in {} partitions: create {input} with one partition before writing, \
             order only holds within a partition",
            partitions.len()
        ));
    }
    let mut ordered: Vec<&Record> = inputs.iter().collect();
    ordered.sort_by_key(|r| r.offset);
    let mut numbers = Vec::new();
    for i in ordered {
        match i.text().and_then(compare::number) {
            Some(x) => numbers.push(x),
            None => return fail(format!("{input} {} is not a number: {}", i.position(), preview(i))),
        }
    }
    let want: Vec<f64> = numbers.windows(n).map(|w| w.iter().sum::<f64>() / n as f64).collect();
    sequence(
        &want,
        outputs,
        output,
        |o| o.text().and_then(compare::number),
        // Sums in another order differ in the last bits; a mean printed in full agrees to far
        // better than this.
        |got, want| (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        |x| format!("{x}"),
        |got, want| Some(compare::apart(*got, *want)),
    )
}

/// The outputs equal `want`, one for one and in the order they were written. Records are
/// ordered by timestamp; within a partition their offsets order them; records of different
/// partitions written in the same millisecond have no order between them (an output topic
/// created by the first write has several partitions), so such a bunch matches its share of
/// `want` in any order.
fn sequence<T>(
    want: &[T],
    outputs: &[Record],
    output: &str,
    read: impl Fn(&Record) -> Option<T>,
    same: impl Fn(&T, &T) -> bool,
    show: impl Fn(&T) -> String,
    apart: impl Fn(&T, &T) -> Option<String>,
) -> Result<Found, ProbeError> {
    let mut ordered: Vec<&Record> = outputs.iter().collect();
    ordered.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
    let mut at = 0;
    while at < ordered.len().min(want.len()) {
        let stamp = ordered[at].timestamp_ms;
        let bunch_end = ordered[at..].iter().position(|r| r.timestamp_ms != stamp).map_or(ordered.len(), |n| at + n);
        let share_end = bunch_end.min(want.len());
        let mut open: Vec<usize> = (at..share_end).collect();
        for o in &ordered[at..share_end] {
            let Some(got) = read(o) else {
                return fail(format!("{output} {} cannot be read: {}", o.position(), preview(o)));
            };
            match open.iter().position(|&w| same(&got, &want[w])) {
                Some(k) => {
                    open.remove(k);
                }
                None => {
                    let w = &want[open[0]];
                    let far = apart(&got, w).map(|a| format!(" — {a}")).unwrap_or_default();
                    let head =
                        format!("record {} of {output} by time ({}) is {}", open[0] + 1, o.position(), show(&got));
                    return differs(format!("{head}, expected {}{far}", show(w)), head);
                }
            }
        }
        at = share_end;
    }
    if outputs.len() < want.len() {
        return differs(
            format!(
                "{output} has {}; expected {}, the next being {}",
                n_records(outputs.len()),
                want.len(),
                show(&want[outputs.len()])
            ),
            format!("{output} has {}, fewer than expected", n_records(outputs.len())),
        );
    }
    if outputs.len() > want.len() {
        return fail(format!(
            "{output} has {} records, {} more than expected; the first extra: {}",
            outputs.len(),
            outputs.len() - want.len(),
            preview(ordered[want.len()])
        ));
    }
    pass(format!("{output} holds the {} expected records in order", want.len()))
}
