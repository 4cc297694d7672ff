//! The sweep's bounded concurrency: items handled a few at a time, each by a deadline.

use super::*;

/// Handles each of `items` with `one`, [`SWEEP_CONCURRENCY`] at a time, started in the
/// items' order, adding what each did to `counts`. `one` gives its counts and its outcome,
/// `None` when `by` came first; an item not started by `by` is not started. Stops at the
/// first failure, or out of time (`what` the items are, for the reason), which is no failure.
pub(super) async fn each_by<'a, T, F, Fut>(
    items: &'a [T],
    by: Instant,
    what: &str,
    counts: &mut RelayCounts,
    one: F,
) -> Result<(), SweepStop>
where
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = (RelayCounts, Option<Result<(), String>>)>,
{
    let mut handling = futures_util::stream::iter(items)
        .map(|item| {
            let step = one(item);
            async move {
                match Instant::now() < by {
                    true => step.await,
                    false => (RelayCounts::default(), None),
                }
            }
        })
        .buffered(SWEEP_CONCURRENCY);
    let mut done = 0;
    while let Some((did, outcome)) = handling.next().await {
        *counts += did;
        match outcome {
            Some(Ok(())) => done += 1,
            Some(Err(why)) => return Err(SweepStop::Failed(why)),
            None => {
                let of = items.len();
                return Err(SweepStop::OutOfTime(format!("after {done} of {of} {what}")));
            }
        }
    }
    Ok(())
}

/// Reads `what` (an index) until `by`: a failure, or `by` reached first, stops the sweep
/// (out of time is no failure: the next sweep goes on).
pub(super) async fn read_index<T>(
    by: Instant,
    what: &str,
    reading: impl Future<Output = Result<T, BackendError>>,
) -> Result<T, SweepStop> {
    match tokio::time::timeout_at(by, reading).await {
        Ok(read) => read.map_err(|e| SweepStop::Failed(error_chain(&e))),
        Err(_) => Err(SweepStop::OutOfTime(format!("before {what} was read"))),
    }
}
