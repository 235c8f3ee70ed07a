//! Pre-aggregation of one batch of events into per-(window, key) partials for a tumbling
//! or hopping window, under the rules of `actors/windows/window-operator.ts`. Only events
//! whose windows are all still open against the watermark before them are folded (into
//! each of their windows); everything else
//! (late events, re-fires, schema misfits, invalid times) becomes a "slow" step that the
//! TS operator runs itself, in order. Steps:
//!   [0, p]  apply partials up to index p (exclusive)
//!   [1, m]  advance the watermark to marks[m]
//!   [2, i]  run event i through the TS per-event path
//! A segment of partials is closed before any step that can fire, purge or read state.

use crate::keys::{hash_key, KeyIds};
use crate::msgpack::Value;
use rustc_hash::FxHashMap;

pub const STEP_APPLY: i32 = 0;
pub const STEP_ADVANCE: i32 = 1;
pub const STEP_SLOW: i32 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fn {
    Count,
    Sum,
    Min,
    Max,
    First,
    Last,
}

pub struct Spec {
    pub size: i64,
    /// Windows start every `slide` ms (epoch-aligned); `size` for a tumbling window.
    pub slide: i64,
    pub lateness: i64,
    pub out_of_order: i64,
    pub group_by: usize,
    /// (function, index of the field among the event fields read, if any)
    pub aggregates: Vec<(Fn, Option<usize>)>,
    /// Key ids kept from batch to batch up to this many keys; a batch that starts with
    /// more forgets them all first (`Batch::keys_reset`).
    pub max_keys: usize,
}

/// One scalar held for output: a key value or a first/last value.
#[derive(Clone, Copy)]
pub enum Scalar<'a> {
    Nil,
    Bool(bool),
    Num(f64),
    Str(&'a str),
}

pub struct Column<'a> {
    pub counts: Vec<f64>,
    /// sum, extreme value, or first/last time.
    pub numbers: Vec<f64>,
    pub scalars: Vec<Scalar<'a>>,
    /// Sum columns: (partial, value) in arrival order.
    pub values: Vec<(u32, f64)>,
}

pub struct Batch<'a> {
    /// The aggregator's key ids were forgotten before this batch: ids start again from 0.
    pub keys_reset: bool,
    /// The first key id this batch added; `key_values` holds the values of the keys from
    /// there on (`group_by` values per key). Older ids are those of earlier batches.
    pub first_new_key: u32,
    pub steps: Vec<i32>,
    pub marks: Vec<f64>,
    pub times: Vec<f64>,
    pub window_starts: Vec<f64>,
    pub key_ids: Vec<u32>,
    pub key_values: Vec<Scalar<'a>>,
    pub columns: Vec<Column<'a>>,
}

fn finite_number(value: &Value) -> bool {
    matches!(value, Value::Num(n) if n.is_finite())
}

fn scalar_fits(value: &Value) -> bool {
    match value {
        Value::Missing | Value::Nil | Value::Bool(_) | Value::Str(_) => true,
        Value::Num(n) => n.is_finite(),
        Value::Compound => false,
    }
}

fn as_scalar<'a>(value: &Value<'a>) -> Scalar<'a> {
    match *value {
        Value::Bool(b) => Scalar::Bool(b),
        Value::Num(n) => Scalar::Num(n),
        Value::Str(s) => Scalar::Str(s),
        _ => Scalar::Nil,
    }
}

const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// What an aggregator keeps from batch to batch: its key ids, and tables emptied for
/// each batch but not freed, so a batch costs no allocation of them.
#[derive(Default)]
pub struct Workspace {
    /// Key ids kept from batch to batch.
    ids: KeyIds,
    /// The keys of the batch being read, numbered in the batch: the per-event lookups stay
    /// in a table the size of a batch (in cache), and each of its keys is looked up in
    /// `ids` once, when the batch is finished.
    batch_keys: KeyIds,
    key_buf: Vec<u8>,
    /// Per batch key, `Aggregator::ring` entries (one per window start modulo the ring, see
    /// `Aggregator::partial`): (window start, partial, segment) of its latest partial there.
    latest: Vec<(i64, u32, u32)>,
    /// (window start, batch key) → partial, for the keys with partials in two or more
    /// windows in the open segment; one window per key needs only `latest`.
    segment: FxHashMap<(i64, u32), u32>,
    /// Kept id per batch key.
    kept: Vec<u32>,
    /// What `KeyIds::warm` last read (meaningless), kept so that its reads stay in the code.
    warmed: u64,
    /// The key ids were forgotten and no batch has said so yet (`Batch::keys_reset`).
    reset_unsaid: bool,
}

impl Workspace {
    /// Takes back a finished batch that could not be delivered: its new key ids are
    /// forgotten, and a reset it carried is said by the next batch instead.
    pub fn undo(&mut self, batch: &Batch) {
        self.ids.rollback(batch.first_new_key as usize);
        self.reset_unsaid = batch.keys_reset;
    }
}

/// Folds events (each a slice of field values: time first, then the spec's fields) into a batch.
pub struct Aggregator<'a, 'w> {
    spec: &'a Spec,
    batch: Batch<'a>,
    watermark: f64,
    marked: f64,
    work: &'w mut Workspace,
    /// Segments closed so far: a `latest` entry of an earlier segment is stale.
    segments: u32,
    /// Events since the last closed segment.
    open_events: usize,
    /// `latest` entries per batch key: the windows of an event, up to `MAX_RING`.
    ring: usize,
}

/// No partial yet: the segment of a new batch key's `latest` entry.
const NO_SEGMENT: u32 = u32::MAX;

/// The most `latest` entries per batch key: a hopping window's event has `size / slide`
/// windows (rounded up), consecutive starts, each found in an entry of its own (up to this
/// many; more share entries and meet in the segment map). A tumbling window has one.
const MAX_RING: i64 = 8;

/// Floor division of a − offset by size: which boundary period `a` lies in.
fn period(a: i64, offset: i64, size: i64) -> i64 {
    (a - offset).div_euclid(size)
}

impl<'a, 'w> Aggregator<'a, 'w> {
    pub fn new(spec: &'a Spec, watermark: f64, events: usize, work: &'w mut Workspace) -> Self {
        let columns = spec
            .aggregates
            .iter()
            .map(|_| Column {
                counts: Vec::new(),
                numbers: Vec::new(),
                scalars: Vec::new(),
                values: Vec::new(),
            })
            .collect();
        work.batch_keys.clear();
        work.latest.clear();
        work.segment.clear();
        Aggregator {
            spec,
            batch: Batch {
                keys_reset: false,
                first_new_key: 0,
                steps: Vec::new(),
                marks: Vec::new(),
                times: Vec::with_capacity(events),
                window_starts: Vec::new(),
                key_ids: Vec::new(),
                key_values: Vec::new(),
                columns,
            },
            watermark,
            marked: watermark,
            work,
            segments: 0,
            open_events: 0,
            ring: ((spec.size + spec.slide - 1) / spec.slide).clamp(1, MAX_RING) as usize,
        }
    }

    fn close_segment(&mut self) {
        if self.open_events > 0 {
            self.batch.steps.push(STEP_APPLY);
            self.batch.steps.push(self.batch.window_starts.len() as i32);
            if !self.work.segment.is_empty() {
                self.work.segment.clear();
            }
            self.segments += 1;
            self.open_events = 0;
        }
    }

    fn sync_watermark(&mut self) {
        if self.watermark != self.marked {
            self.batch.steps.push(STEP_ADVANCE);
            self.batch.steps.push(self.batch.marks.len() as i32);
            self.batch.marks.push(self.watermark);
            self.marked = self.watermark;
        }
    }

    fn slow(&mut self, index: usize) {
        self.close_segment();
        self.sync_watermark();
        self.batch.steps.push(STEP_SLOW);
        self.batch.steps.push(index as i32);
    }

    /// Whether moving the watermark from `from` to `to` passes a window end or purge time:
    /// windows start at multiples of `slide`, so they end at `size` plus a multiple of it
    /// and are purged `lateness` later.
    fn crosses(&self, from: f64, to: i64) -> bool {
        if from == f64::NEG_INFINITY {
            return true;
        }
        let from = from as i64;
        let Spec {
            size,
            slide,
            lateness,
            ..
        } = *self.spec;
        period(to, size, slide) > period(from, size, slide)
            || period(to, size + lateness, slide) > period(from, size + lateness, slide)
    }

    /// Adds the batch's next event; `fields[0]` is its time value. Err: the batch needs
    /// the TS path.
    pub fn push(&mut self, fields: &[Value<'a>]) -> Result<(), &'static str> {
        let index = self.batch.times.len();
        let time = match fields[0] {
            Value::Num(t) if t.is_finite() => t,
            Value::Str(_) => return Err("UNSUPPORTED_TIME_STRING"),
            _ => {
                self.batch.times.push(f64::NAN);
                self.slow(index);
                return Ok(());
            }
        };
        if time.fract() != 0.0 || time.abs() > MAX_SAFE {
            return Err("UNSUPPORTED_FRACTIONAL_TIME");
        }
        self.batch.times.push(time);
        let time_ms = time as i64;
        let spec = self.spec;
        let fits = fields[1..=spec.group_by].iter().all(scalar_fits)
            && spec
                .aggregates
                .iter()
                .all(|(function, field)| match (function, field) {
                    (Fn::Sum | Fn::Min | Fn::Max, Some(f)) => {
                        matches!(fields[*f], Value::Missing | Value::Nil)
                            || finite_number(&fields[*f])
                    }
                    (Fn::First | Fn::Last, Some(f)) => scalar_fits(&fields[*f]),
                    _ => true,
                });
        // The event's windows: starts `first ..= last` every `slide` (none when it falls
        // in a gap between hopping windows); the first ends soonest.
        let last = time_ms - time_ms.rem_euclid(spec.slide);
        let mut first = last;
        while first - spec.slide + spec.size > time_ms {
            first -= spec.slide;
        }
        if !fits || last + spec.size <= time_ms || ((first + spec.size) as f64) <= self.watermark {
            self.slow(index);
        } else {
            self.fold(first, last, time, fields);
        }
        let candidate = time_ms - spec.out_of_order;
        if (candidate as f64) > self.watermark {
            if self.crosses(self.watermark, candidate) {
                self.close_segment();
                self.watermark = candidate as f64;
                self.sync_watermark();
            } else {
                self.watermark = candidate as f64;
            }
        }
        Ok(())
    }

    /// The batch's id of the event's key; a new key's values join `key_values`.
    fn key_id(&mut self, fields: &[Value<'a>]) -> u32 {
        let work = &mut *self.work;
        let buf = &mut work.key_buf;
        buf.clear();
        for value in &fields[1..=self.spec.group_by] {
            match value {
                Value::Missing | Value::Nil | Value::Compound => buf.push(0),
                Value::Bool(b) => buf.push(1 + u8::from(*b)),
                Value::Num(n) => {
                    buf.push(3);
                    let n = if *n == 0.0 { 0.0 } else { *n };
                    buf.extend_from_slice(&n.to_bits().to_le_bytes());
                }
                Value::Str(s) => {
                    buf.push(4);
                    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    buf.extend_from_slice(s.as_bytes());
                }
            }
        }
        let (id, new) = work.batch_keys.intern(buf, hash_key(buf));
        if new {
            let ring = self.ring;
            work.latest
                .resize(work.latest.len() + ring, (0, 0, NO_SEGMENT));
            for value in &fields[1..=self.spec.group_by] {
                self.batch.key_values.push(as_scalar(value));
            }
        }
        id
    }

    /// The partial of (window `start`, `key`) in the open segment, new if it has none.
    fn partial(&mut self, start: i64, key: u32) -> u32 {
        let segment = self.segments;
        // Each window start has its entry: consecutive starts, consecutive entries.
        let ring = self.ring;
        let entry = key as usize * ring
            + start.div_euclid(self.spec.slide).rem_euclid(ring as i64) as usize;
        let (latest_start, latest, latest_segment) = self.work.latest[entry];
        if latest_segment == segment && latest_start == start {
            return latest;
        }
        let partial = if latest_segment == segment {
            // A second window for the key in this segment: all its partials go in the map.
            self.work.segment.insert((latest_start, key), latest);
            match self.work.segment.get(&(start, key)) {
                Some(&partial) => partial,
                None => self.new_partial(start, key),
            }
        } else {
            self.new_partial(start, key)
        };
        if latest_segment == segment {
            self.work.segment.insert((start, key), partial);
        }
        self.work.latest[entry] = (start, partial, segment);
        partial
    }

    fn new_partial(&mut self, start: i64, key: u32) -> u32 {
        let batch = &mut self.batch;
        batch.window_starts.push(start as f64);
        batch.key_ids.push(key);
        for (column, (function, _)) in batch.columns.iter_mut().zip(self.spec.aggregates.iter()) {
            column.counts.push(0.0);
            column.numbers.push(0.0);
            if matches!(function, Fn::First | Fn::Last) {
                column.scalars.push(Scalar::Nil);
            }
        }
        (batch.window_starts.len() - 1) as u32
    }

    /// Folds the event into each of its windows, starts `first ..= last`.
    fn fold(&mut self, first: i64, last: i64, time: f64, fields: &[Value<'a>]) {
        let key = self.key_id(fields);
        self.open_events += 1;
        let mut start = first;
        while start <= last {
            let partial = self.partial(start, key);
            self.add(partial, time, fields);
            start += self.spec.slide;
        }
    }

    /// Adds the event's values to one partial.
    fn add(&mut self, partial: u32, time: f64, fields: &[Value<'a>]) {
        let batch = &mut self.batch;
        let p = partial as usize;
        for (column, (function, field)) in batch.columns.iter_mut().zip(self.spec.aggregates.iter())
        {
            let value = field.map_or(Value::Missing, |f| fields[f]);
            match function {
                Fn::Count => {
                    if field.is_none() || !matches!(value, Value::Missing | Value::Nil) {
                        column.counts[p] += 1.0;
                    }
                }
                Fn::Sum => {
                    if let Value::Num(n) = value {
                        column.numbers[p] += n;
                        column.counts[p] += 1.0;
                        column.values.push((partial, n));
                    }
                }
                Fn::Min | Fn::Max => {
                    if let Value::Num(n) = value {
                        let better = if *function == Fn::Max {
                            n > column.numbers[p]
                        } else {
                            n < column.numbers[p]
                        };
                        if column.counts[p] == 0.0 || better {
                            column.numbers[p] = n;
                        }
                        column.counts[p] += 1.0;
                    }
                }
                Fn::First | Fn::Last => {
                    if matches!(value, Value::Bool(_) | Value::Num(_) | Value::Str(_)) {
                        let held = column.counts[p] > 0.0;
                        let replace = if *function == Fn::Last {
                            time >= column.numbers[p]
                        } else {
                            time < column.numbers[p]
                        };
                        if !held || replace {
                            column.numbers[p] = time;
                            column.scalars[p] = as_scalar(&value);
                            column.counts[p] = 1.0;
                        }
                    }
                }
            }
        }
    }

    /// The batch, its keys numbered by the ids kept from batch to batch: each batch key
    /// looked up there once, the new ones given the next ids in order of first sight.
    pub fn finish(mut self) -> Batch<'a> {
        self.close_segment();
        self.sync_watermark();
        let work = &mut *self.work;
        if work.ids.len() >= self.spec.max_keys.max(1) {
            work.ids.clear();
            work.reset_unsaid = true;
        }
        let batch = &mut self.batch;
        batch.keys_reset = std::mem::take(&mut work.reset_unsaid);
        batch.first_new_key = work.ids.len() as u32;
        let width = self.spec.group_by;
        work.kept.clear();
        let batch_keys = &work.batch_keys;
        work.warmed = work
            .ids
            .warm((0..batch_keys.len()).map(|local| batch_keys.hash(local)));
        let mut new_values = 0;
        for local in 0..batch_keys.len() {
            let (id, new) = work
                .ids
                .intern(batch_keys.key(local), batch_keys.hash(local));
            work.kept.push(id);
            if new {
                // Batch keys are numbered in order of first sight, so the new ones stay in order.
                let values = local * width..(local + 1) * width;
                batch.key_values.copy_within(values, new_values);
                new_values += width;
            }
        }
        batch.key_values.truncate(new_values);
        for key in &mut batch.key_ids {
            *key = work.kept[*key as usize];
        }
        self.batch
    }
}
