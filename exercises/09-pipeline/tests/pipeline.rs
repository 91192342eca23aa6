//! The specification of exercise 09. The tests watch a pipeline from the
//! outside: the input counts the items read, the sink counts the results it
//! receives, and `work` counts the calls running at once. Nothing here
//! measures time: a few tests *wait* (at most 50 ms or 1 s) to give a
//! wrong pipeline the chance to show itself, and a right one passes however
//! long the wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use exercise_09::{CancelHandle, Config, PipelineError, run};
use testkit::{LIMIT, within};

// ---------------------------------------------------------------------------
// What the tests observe
// ---------------------------------------------------------------------------

/// Counters shared by a test's input, work and sink.
#[derive(Default)]
struct Meter {
    /// Items the input has handed out.
    read: AtomicUsize,
    /// Calls of `sink` so far.
    sunk: AtomicUsize,
    /// The most items ever read but not yet sunk.
    max_in_flight: AtomicUsize,
    /// Calls of `work` running now, and the most ever running at once.
    working: AtomicUsize,
    max_working: AtomicUsize,
    /// Set when the input iterator is dropped (its thread is done with it).
    input_dropped: AtomicBool,
}

impl Meter {
    fn in_flight(&self) -> usize {
        self.read
            .load(SeqCst)
            .saturating_sub(self.sunk.load(SeqCst))
    }

    /// Call at the start of `sink`.
    fn sink_called(&self) -> usize {
        self.sunk.fetch_add(1, SeqCst) + 1
    }

    /// Call at the start of `work`; the call counts as running until the
    /// guard is dropped (also when `work` panics).
    fn work_started(&self) -> Working<'_> {
        let now = self.working.fetch_add(1, SeqCst) + 1;
        self.max_working.fetch_max(now, SeqCst);
        Working(self)
    }
}

struct Working<'a>(&'a Meter);

impl Drop for Working<'_> {
    fn drop(&mut self) {
        self.0.working.fetch_sub(1, SeqCst);
    }
}

/// The items 0, 1, 2, ... `len - 1`, as `Ok`, except item `fail_at`, which
/// is an `Err`. Counts every item it hands out and records its own drop.
struct Input {
    next: usize,
    len: usize,
    fail_at: Option<usize>,
    meter: Arc<Meter>,
}

fn input(len: usize, meter: &Arc<Meter>) -> Input {
    Input {
        next: 0,
        len,
        fail_at: None,
        meter: Arc::clone(meter),
    }
}

impl Iterator for Input {
    type Item = Result<usize, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.len {
            return None;
        }
        let i = self.next;
        self.next += 1;
        self.meter.read.fetch_add(1, SeqCst);
        let in_flight = self.meter.in_flight();
        self.meter.max_in_flight.fetch_max(in_flight, SeqCst);
        if self.fail_at == Some(i) {
            Some(Err(format!("cannot read item {i}")))
        } else {
            Some(Ok(i))
        }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.meter.input_dropped.store(true, SeqCst);
    }
}

/// A long input: a pipeline that does not stop takes all of it.
const LONG: usize = 20_000;

fn config(workers: usize, capacity: usize, ordered: bool) -> Config {
    Config {
        workers,
        capacity,
        ordered,
    }
}

/// Polls `done` every millisecond until it holds (true) or `limit` passes
/// (false). Used only to give a wrong pipeline time to misbehave; a right
/// one passes the test whatever this returns.
fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
    true
}

/// After `run` has returned: no thread of the pipeline may still be working.
#[track_caller]
fn assert_every_stage_ended(meter: &Meter) {
    assert!(
        meter.input_dropped.load(SeqCst),
        "run returned while the input iterator was still alive: the reader \
         thread had not ended (run must wait for every thread it started)"
    );
    let working = meter.working.load(SeqCst);
    assert_eq!(
        working, 0,
        "run returned while {working} call(s) of work were still running: \
         run must wait for every worker thread"
    );
}

/// A gate that holds back some calls of `work` until another call has
/// happened. If that never happens (a pipeline with too few workers), the
/// first wait gives up after 1 s and the gate opens for good, so that the
/// test fails on its assertions instead of waiting 1 s per item.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    gave_up: AtomicBool,
}

impl Gate {
    fn open(&self) {
        self.open.store(true, SeqCst);
    }

    fn wait(&self) {
        let opened = wait_until(Duration::from_secs(1), || {
            self.open.load(SeqCst) || self.gave_up.load(SeqCst)
        });
        if !opened {
            self.gave_up.store(true, SeqCst);
        }
    }
}

/// Opens a gate when dropped.
struct OpenOnDrop<'a>(&'a Gate);

impl Drop for OpenOnDrop<'_> {
    fn drop(&mut self) {
        self.0.open();
    }
}

// ---------------------------------------------------------------------------
// Every result, once; in order when asked
// ---------------------------------------------------------------------------

#[test]
fn delivers_every_result_exactly_once() {
    within(LIMIT, "run to process 500 items with 3 workers", || {
        let meter = Arc::new(Meter::default());
        let mut got = Vec::new();
        let result = run(
            &config(3, 2, false),
            &CancelHandle::new(),
            input(500, &meter),
            |i| Ok(i * 10),
            |r| {
                got.push(r);
                Ok(())
            },
        );
        assert_eq!(
            result,
            Ok(500),
            "run must return Ok(number of results passed to sink)"
        );
        got.sort_unstable();
        let want: Vec<usize> = (0..500).map(|i| i * 10).collect();
        assert!(
            got == want,
            "sink must receive work(i) once for every item i of the input \
             (got {} results; first ones after sorting: {:?})",
            got.len(),
            &got[..got.len().min(10)]
        );
        assert_every_stage_ended(&meter);
    });
}

#[test]
fn ordered_mode_delivers_results_in_input_order() {
    within(LIMIT, "200 items in order from 4 workers", || {
        // Make the workers finish out of order on purpose: work on item
        // 4k waits until items 4k+1 and 4k+2 are done.
        const N: usize = 200;
        let done: Vec<AtomicBool> = (0..N).map(|_| AtomicBool::new(false)).collect();
        let gate = Gate::default();
        let meter = Arc::new(Meter::default());
        let mut got = Vec::new();
        let result = run(
            &config(4, 2, true),
            &CancelHandle::new(),
            input(N, &meter),
            |i| {
                if i % 4 == 0 && i + 2 < N && !gate.gave_up.load(SeqCst) {
                    let later_done = || done[i + 1].load(SeqCst) && done[i + 2].load(SeqCst);
                    if !wait_until(Duration::from_secs(1), later_done) {
                        gate.gave_up.store(true, SeqCst);
                    }
                }
                done[i].store(true, SeqCst);
                Ok(i)
            },
            |r| {
                got.push(r);
                Ok(())
            },
        );
        assert_eq!(result, Ok(N), "run must return Ok(number of results)");
        let first_wrong = got.iter().enumerate().find(|&(pos, &r)| pos != r);
        assert!(
            first_wrong.is_none() && got.len() == N,
            "with ordered: true, sink must receive the results in input order, \
             0, 1, 2, ... although the workers finish them out of order; \
             position {:?} held result {:?} (first results: {:?})",
            first_wrong.map(|(pos, _)| pos),
            first_wrong.map(|(_, r)| r),
            &got[..got.len().min(12)]
        );
        assert_every_stage_ended(&meter);
    });
}

#[test]
fn tiny_configurations_still_deliver_everything() {
    within(LIMIT, "run to finish with tiny configurations", || {
        for (workers, capacity) in [(0, 0), (1, 0), (1, 1), (2, 0)] {
            for ordered in [false, true] {
                let cfg = config(workers, capacity, ordered);
                let meter = Arc::new(Meter::default());
                let mut got = Vec::new();
                let result = run(
                    &cfg,
                    &CancelHandle::new(),
                    input(100, &meter),
                    |i| Ok(i + 1),
                    |r| {
                        got.push(r);
                        Ok(())
                    },
                );
                assert_eq!(
                    result,
                    Ok(100),
                    "{cfg:?}: workers 0 counts as 1, and capacity 0 means \
                     rendezvous channels; every result must still arrive"
                );
                if !ordered {
                    got.sort_unstable();
                }
                assert!(
                    got.iter().copied().eq(1..=100),
                    "{cfg:?}: sink must receive work(i) for i in 0..100 \
                     (first results: {:?})",
                    &got[..got.len().min(10)]
                );
                assert_every_stage_ended(&meter);
            }
        }
    });
}

#[test]
fn an_empty_input_gives_ok_zero() {
    within(LIMIT, "run to return on an empty input", || {
        for ordered in [false, true] {
            let meter = Arc::new(Meter::default());
            let result = run(
                &config(3, 2, ordered),
                &CancelHandle::new(),
                input(0, &meter),
                Ok,
                |_| -> Result<(), String> { panic!("sink called on an empty input") },
            );
            assert_eq!(
                result,
                Ok(0),
                "ordered: {ordered}: nothing to do is a success"
            );
            assert_every_stage_ended(&meter);
        }
    });
}

// ---------------------------------------------------------------------------
// Fan-out: the workers run at the same time, and no more of them
// ---------------------------------------------------------------------------

#[test]
fn workers_call_work_in_parallel() {
    within(LIMIT, "3 workers inside work at once", || {
        // Each call waits (at most 1 s in all) until 3 calls are running at
        // once. With 3 worker threads that happens at once.
        let meter = Arc::new(Meter::default());
        let gate = Gate::default();
        let result = run(
            &config(3, 1, false),
            &CancelHandle::new(),
            input(12, &meter),
            |i| {
                let _working = meter.work_started();
                if meter.max_working.load(SeqCst) >= 3 {
                    gate.open();
                }
                gate.wait();
                Ok(i)
            },
            |_| Ok(()),
        );
        assert_eq!(result, Ok(12), "run must return Ok(12)");
        let most = meter.max_working.load(SeqCst);
        assert!(
            most >= 3,
            "with workers: 3, at most {most} call(s) of work ran at the same \
             time (waited 1 s for 3): start config.workers threads that take \
             items from one shared channel"
        );
        assert!(
            most <= 3,
            "with workers: 3, {most} calls of work ran at the same time: start \
             exactly config.workers worker threads (not one per item)"
        );
        assert_every_stage_ended(&meter);
    });
}

// ---------------------------------------------------------------------------
// Bounded memory
// ---------------------------------------------------------------------------

#[test]
fn memory_stays_bounded_when_the_sink_is_slow() {
    within(LIMIT, "run to process 2000 items with a slow sink", || {
        let cfg = config(3, 2, false);
        let bound = cfg.max_in_flight();
        let meter = Arc::new(Meter::default());
        let result = run(&cfg, &CancelHandle::new(), input(2000, &meter), Ok, |_| {
            if meter.sink_called() == 1 {
                // A slow consumer: give the reader 50 ms to run ahead.
                wait_until(Duration::from_millis(50), || meter.in_flight() > bound);
            }
            Ok(())
        });
        assert_eq!(result, Ok(2000), "run must return Ok(2000)");
        let most = meter.max_in_flight.load(SeqCst);
        assert!(
            most <= bound,
            "while the sink was slow, {most} items were read but not yet sunk; \
             with capacity 2 and 3 workers at most {bound} may be \
             (2 * capacity + workers + 2): use bounded channels, so that the \
             reader blocks when the workers cannot keep up"
        );
        assert_every_stage_ended(&meter);
    });
}

#[test]
fn ordered_mode_stays_bounded_behind_a_slow_item() {
    within(LIMIT, "2000 ordered items behind a slow one", || {
        let cfg = config(3, 2, true);
        let bound = cfg.max_in_flight();
        let meter = Arc::new(Meter::default());
        let mut next = 0;
        let result = run(
            &cfg,
            &CancelHandle::new(),
            input(2000, &meter),
            |i| {
                if i == 0 {
                    // Item 0 is slow: nothing can be sunk until it is done,
                    // while the other workers go on. Give the reader 50 ms.
                    wait_until(Duration::from_millis(50), || meter.in_flight() > bound);
                }
                Ok(i)
            },
            |r| {
                meter.sink_called();
                assert_eq!(r, next, "ordered: results must arrive in input order");
                next += 1;
                Ok(())
            },
        );
        assert_eq!(result, Ok(2000), "run must return Ok(2000)");
        let most = meter.max_in_flight.load(SeqCst);
        assert!(
            most <= bound,
            "while item 0 was slow, {most} items were read but not yet sunk; at \
             most {bound} may be (2 * capacity + workers + 2), results waiting \
             for an earlier one included: the reader must wait before it takes \
             an item beyond that limit"
        );
        assert_every_stage_ended(&meter);
    });
}

// ---------------------------------------------------------------------------
// The first error stops every stage
// ---------------------------------------------------------------------------

#[test]
fn a_read_error_stops_the_pipeline() {
    within(LIMIT, "run to stop at a read error", || {
        let meter = Arc::new(Meter::default());
        let mut failing = input(10_000, &meter);
        failing.fail_at = Some(50);
        let mut sunk = Vec::new();
        let result = run(
            &config(3, 2, false),
            &CancelHandle::new(),
            failing,
            Ok,
            |r| {
                sunk.push(r);
                Ok(())
            },
        );
        assert_eq!(
            result,
            Err(PipelineError::Failed("cannot read item 50".to_string())),
            "an Err from the input must be returned as PipelineError::Failed"
        );
        let read = meter.read.load(SeqCst);
        assert_eq!(
            read, 51,
            "the reader must stop at the Err (item 50): it took {read} items"
        );
        assert!(
            sunk.iter().all(|&r| r < 50),
            "sink received a result for an item after the read error"
        );
        assert_every_stage_ended(&meter);
    });
}

#[test]
fn a_failing_work_call_stops_every_stage() {
    within(LIMIT, "run to stop after work fails on item 37", || {
        // Work on the items after 37 waits until item 37 has failed, so that
        // no worker can race far ahead of the failure.
        let meter = Arc::new(Meter::default());
        let failed = Gate::default();
        let result = run(
            &config(3, 2, false),
            &CancelHandle::new(),
            input(LONG, &meter),
            |i| {
                let _working = meter.work_started();
                if i == 37 {
                    failed.open();
                    return Err(format!("work failed on item {i}"));
                }
                if i > 37 {
                    failed.wait();
                }
                Ok(i)
            },
            |_| Ok(()),
        );
        assert_eq!(
            result,
            Err(PipelineError::Failed("work failed on item 37".to_string())),
            "an Err from work must be returned as PipelineError::Failed"
        );
        let read = meter.read.load(SeqCst);
        assert!(
            read < 1_000,
            "after work failed on item 37 the reader went on and read {read} of \
             {LONG} items: the first error must stop every stage"
        );
        assert_every_stage_ended(&meter);
    });
}

#[test]
fn a_failing_sink_stops_every_stage() {
    within(LIMIT, "run to stop after the sink fails", || {
        for ordered in [false, true] {
            let cfg = config(3, 2, ordered);
            let meter = Arc::new(Meter::default());
            let result = run(&cfg, &CancelHandle::new(), input(LONG, &meter), Ok, |_| {
                let n = meter.sink_called();
                if n == 20 {
                    return Err(format!("sink failed on result {n}"));
                }
                Ok(())
            });
            assert_eq!(
                result,
                Err(PipelineError::Failed(
                    "sink failed on result 20".to_string()
                )),
                "ordered: {ordered}: an Err from sink must be returned as \
                 PipelineError::Failed"
            );
            let sunk = meter.sunk.load(SeqCst);
            assert_eq!(
                sunk, 20,
                "ordered: {ordered}: sink was called {sunk} times: after it \
                 failed on the 20th result it must not be called again"
            );
            let read = meter.read.load(SeqCst);
            let limit = 20 + cfg.max_in_flight();
            assert!(
                read <= limit,
                "ordered: {ordered}: the reader read {read} items, but at most \
                 {limit} can have been read before the sink failed on its 20th \
                 (20 + max_in_flight): the reader must stop too"
            );
            assert_every_stage_ended(&meter);
        }
    });
}

#[test]
fn a_panicking_work_call_is_reported_with_its_index() {
    within(LIMIT, "run to stop after work panics on item 13", || {
        let meter = Arc::new(Meter::default());
        let panicked = Gate::default();
        let result = run(
            &config(3, 2, false),
            &CancelHandle::new(),
            input(LONG, &meter),
            |i| -> Result<usize, String> {
                let _working = meter.work_started();
                if i == 13 {
                    // Opens the gate while the panic unwinds, that is after
                    // the panic message (and backtrace) has been printed.
                    let _open = OpenOnDrop(&panicked);
                    panic!("work panics on item 13 (on purpose: run must catch it)");
                }
                if i > 13 {
                    panicked.wait();
                }
                Ok(i)
            },
            |_| Ok(()),
        );
        assert_eq!(
            result,
            Err(PipelineError::WorkPanicked { index: 13 }),
            "a panic in work must stop the pipeline and be returned as \
             PipelineError::WorkPanicked with the item's index"
        );
        let read = meter.read.load(SeqCst);
        assert!(
            read < 1_000,
            "after work panicked on item 13 the reader went on and read {read} \
             of {LONG} items: a panic must stop every stage, like an error"
        );
        assert_every_stage_ended(&meter);
    });
}

// ---------------------------------------------------------------------------
// Cancelling
// ---------------------------------------------------------------------------

#[test]
fn cancel_handle_clones_share_one_state() {
    within(LIMIT, "CancelHandle's methods to return", || {
        let handle = CancelHandle::new();
        assert!(!handle.is_cancelled(), "a new handle is not cancelled");
        let clone = handle.clone();
        clone.cancel();
        assert!(
            handle.is_cancelled(),
            "cancelling a clone must cancel the original too"
        );
        assert!(
            !CancelHandle::new().is_cancelled(),
            "every new handle starts out not cancelled"
        );
    });
}

#[test]
fn a_handle_cancelled_before_run_reads_nothing() {
    within(LIMIT, "run to return with a cancelled handle", || {
        let meter = Arc::new(Meter::default());
        let cancel = CancelHandle::new();
        cancel.cancel();
        let result = run(
            &config(3, 2, false),
            &cancel,
            input(LONG, &meter),
            Ok,
            |_| {
                meter.sink_called();
                Ok(())
            },
        );
        assert_eq!(
            result,
            Err(PipelineError::Cancelled),
            "a cancelled handle must make run return PipelineError::Cancelled"
        );
        let read = meter.read.load(SeqCst);
        assert_eq!(
            read, 0,
            "the handle was cancelled before run started, yet {read} items were \
             read: check the handle before taking each item"
        );
        assert_every_stage_ended(&meter);
    });
}

#[test]
fn cancel_from_another_thread_stops_every_stage() {
    within(LIMIT, "run to stop when cancelled", || {
        for ordered in [false, true] {
            let cfg = config(3, 2, ordered);
            let meter = Arc::new(Meter::default());
            let cancel = CancelHandle::new();
            let result = run(
                &cfg,
                &cancel,
                input(LONG, &meter),
                Ok,
                |_| -> Result<(), String> {
                    if meter.sink_called() == 10 {
                        // Cancel from another thread, and wait until it has.
                        let remote = cancel.clone();
                        thread::spawn(move || remote.cancel())
                            .join()
                            .expect("the cancelling thread panicked");
                    }
                    Ok(())
                },
            );
            assert_eq!(
                result,
                Err(PipelineError::Cancelled),
                "ordered: {ordered}: run must return PipelineError::Cancelled \
                 after cancel()"
            );
            let sunk = meter.sunk.load(SeqCst);
            assert_eq!(
                sunk, 10,
                "ordered: {ordered}: the handle was cancelled during the 10th \
                 call of sink, yet sink was called {sunk} times: check the \
                 handle before passing each result on"
            );
            let read = meter.read.load(SeqCst);
            let limit = 10 + cfg.max_in_flight();
            assert!(
                read <= limit,
                "ordered: {ordered}: {read} items were read; at most {limit} \
                 can have been before the cancel: the reader must stop"
            );
            assert_every_stage_ended(&meter);
        }
    });
}
