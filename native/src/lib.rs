#![deny(clippy::all)]
//! sluice's native hot path, crossing the JS boundary once per batch: a batch of Kafka
//! records (sluice frames, or one JSON or msgpack event each) or one frame decoded
//! straight into per-(window, key) partial aggregates (`FrameAggregator`), or read for
//! only the fields the windows use (`FieldProjector`). The TS twin in `native/twin/`
//! computes the same partials; `native/index.ts` picks one.

use napi::bindgen_prelude::{
    Buffer, Float64Array, Float64ArraySlice, Int32ArraySlice, Uint32Array, Uint32ArraySlice,
    Uint8Array,
};
use napi_derive::napi;
use sluice_native_core::batch::{Aggregator, Batch, Fn, Scalar, Spec, Workspace};
use sluice_native_core::msgpack::{Reader, Value};
use sluice_native_core::{frame, json, kafka, msgpack, read_events};
use std::borrow::Cow;

/// Which aggregate reads which of `fields`.
#[napi(object)]
pub struct AggregateRef {
    /// count, sum, min, max, first or last (avg is a sum).
    pub kind: String,
    /// Index into `fields`; absent for count().
    pub field: Option<u32>,
}

#[napi(object)]
pub struct FrameSpec {
    /// Field names read from each event: the time field, then the groupBy fields, then the rest.
    pub fields: Vec<String>,
    pub group_by: u32,
    pub aggregates: Vec<AggregateRef>,
    pub size_ms: f64,
    /// A hopping window's slide; absent or equal to `size_ms` for a tumbling window.
    pub slide_ms: Option<f64>,
    pub allowed_lateness_ms: f64,
    pub max_out_of_order_ms: f64,
    /// Key ids are kept from batch to batch up to this many keys (default 262,144).
    pub max_keys: Option<f64>,
}

/// Text handed over as one string, each value's end in UTF-16 units (for `slice`).
#[derive(Default)]
struct Text {
    text: String,
    units: usize,
}

impl Text {
    /// Appends `s`; returns where it ends in the text.
    fn push(&mut self, s: &str) -> f64 {
        self.text.push_str(s);
        self.units += utf16_len(s);
        self.units as f64
    }

    /// Appends a value: its kind (0 null, 1 false, 2 true, 3 number, 4 string) and its
    /// number (the value, or for a string where it ends in the text).
    fn scalar(&mut self, scalar: &Scalar) -> (i32, f64) {
        match *scalar {
            Scalar::Nil => (0, 0.0),
            Scalar::Bool(b) => (1 + i32::from(b), 0.0),
            Scalar::Num(n) => (3, n),
            Scalar::Str(s) => (4, self.push(s)),
        }
    }
}

/// Key ids an aggregator keeps by default (`FrameSpec::max_keys`).
const DEFAULT_MAX_KEYS: usize = 1 << 18;

fn parse_spec(spec: &FrameSpec) -> Result<Spec, &'static str> {
    let integral = |x: f64| x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15;
    let slide_ms = spec.slide_ms.unwrap_or(spec.size_ms);
    if !integral(spec.size_ms)
        || spec.size_ms <= 0.0
        || !integral(slide_ms)
        || slide_ms <= 0.0
        || !integral(spec.allowed_lateness_ms)
        || !integral(spec.max_out_of_order_ms)
    {
        return Err("UNSUPPORTED_SPEC");
    }
    let mut aggregates = Vec::new();
    for aggregate in &spec.aggregates {
        let function = match aggregate.kind.as_str() {
            "count" => Fn::Count,
            "sum" => Fn::Sum,
            "min" => Fn::Min,
            "max" => Fn::Max,
            "first" => Fn::First,
            "last" => Fn::Last,
            _ => return Err("UNSUPPORTED_SPEC"),
        };
        let field = aggregate.field.map(|f| f as usize);
        if field.is_some_and(|f| f >= spec.fields.len())
            || (field.is_none() && function != Fn::Count)
        {
            return Err("UNSUPPORTED_SPEC");
        }
        // One column per distinct (function, field): avg(x) beside sum(x) is one column
        // (`native-frame-aggregator.ts` maps the aggregates onto them by the same rule).
        if !aggregates.contains(&(function, field)) {
            aggregates.push((function, field));
        }
    }
    if spec.fields.is_empty() || spec.group_by as usize >= spec.fields.len() {
        return Err("UNSUPPORTED_SPEC");
    }
    Ok(Spec {
        size: spec.size_ms as i64,
        slide: slide_ms as i64,
        lateness: spec.allowed_lateness_ms as i64,
        out_of_order: spec.max_out_of_order_ms as i64,
        group_by: spec.group_by as usize,
        aggregates,
        max_keys: match spec.max_keys {
            None => DEFAULT_MAX_KEYS,
            Some(n) if integral(n) && n >= 1.0 => n as usize,
            Some(_) => return Err("UNSUPPORTED_SPEC"),
        },
    })
}

/// The length of `s` in JavaScript's units (UTF-16 code units): where text handed over as
/// one string ends, for `slice`.
fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// `sizes[0]` after `FrameAggregator::aggregate`: the batch is written; the returned text
/// is a fallback code; the buffers are too small (`sizes[8]`, `sizes[9]`: what they need).
const WRITTEN: u32 = 0;
const FALLBACK: u32 = 1;
const TOO_SMALL: u32 = 2;
/// `sizes` before the per-column value counts.
const SIZES_HEAD: usize = 10;

/// Pre-aggregates sluice frames for one tumbling or hopping window. Each batch is written into
/// buffers the caller owns and reuses (layout: `native/native-frame-aggregator.ts`), so a
/// batch costs no allocation on either side but its one string of text values; the
/// tables of the aggregation are kept from batch to batch too.
#[napi]
pub struct FrameAggregator {
    spec: Result<Spec, &'static str>,
    fields: Vec<String>,
    /// `fields` without repeats (a name may be wanted twice: the time field also grouped
    /// by), as the message readers take them, and where each of `fields` is among them.
    distinct_fields: Vec<String>,
    field_slots: Vec<usize>,
    work: Workspace,
    /// Decompressed payloads, one buffer per frame of a batch.
    scratch: Vec<Vec<u8>>,
    /// Per partial, where its next sum value goes.
    fill: Vec<u32>,
}

#[napi]
impl FrameAggregator {
    #[napi(constructor)]
    pub fn new(spec: FrameSpec) -> Self {
        let mut distinct_fields: Vec<String> = Vec::new();
        let field_slots = spec
            .fields
            .iter()
            .map(
                |field| match distinct_fields.iter().position(|known| known == field) {
                    Some(slot) => slot,
                    None => {
                        distinct_fields.push(field.clone());
                        distinct_fields.len() - 1
                    }
                },
            )
            .collect();
        FrameAggregator {
            spec: parse_spec(&spec),
            fields: spec.fields,
            distinct_fields,
            field_slots,
            work: Workspace::default(),
            scratch: Vec::new(),
            fill: Vec::new(),
        }
    }

    /// Decodes `frame` and pre-aggregates it against the operator's `watermark` into
    /// `floats`, `ints` and `sizes`. Returns the batch's text values, or the fallback code.
    #[napi]
    pub fn aggregate(
        &mut self,
        frame: &[u8],
        watermark: f64,
        mut floats: Float64ArraySlice,
        mut ints: Int32ArraySlice,
        mut sizes: Uint32ArraySlice,
    ) -> napi::Result<String> {
        let (floats, ints, sizes) = buffers(&mut floats, &mut ints, &mut sizes)?;
        self.aggregate_frames(&[frame], watermark, floats, ints, sizes)
    }

    /// The same for every event in the records of `bytes` — whole v2 record batches back
    /// to back, as the kafka source hands them to the worker, uncompressed or LZ4 — from
    /// `from_offset` on, as one batch. `format` is how the records hold events: `frame`,
    /// or one `json` or `msgpack` event each, read by the rules of `FieldProjector` (an
    /// escaped string in a wanted JSON field falls back with `UNSUPPORTED_ESCAPED_TEXT`).
    /// A batch `FieldProjector::project_record_batches` refuses (a tombstone, a record
    /// with the `dead_letter_header`, gzip, a message it does not read) falls back with
    /// `UNSUPPORTED_RECORDS`.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn aggregate_record_batches(
        &mut self,
        bytes: &[u8],
        from_offset: f64,
        dead_letter_header: String,
        format: String,
        watermark: f64,
        mut floats: Float64ArraySlice,
        mut ints: Int32ArraySlice,
        mut sizes: Uint32ArraySlice,
    ) -> napi::Result<String> {
        let (floats, ints, sizes) = buffers(&mut floats, &mut ints, &mut sizes)?;
        const REFUSED: &str = "UNSUPPORTED_RECORDS";
        if from_offset.fract() != 0.0 || from_offset.abs() > 9.0e15 {
            return Ok(fallback(sizes, REFUSED));
        }
        let Ok(fetched) = kafka::Fetched::read(bytes) else {
            return Ok(fallback(sizes, REFUSED));
        };
        let mut frames = Vec::new();
        let listed = fetched.values(from_offset as i64, dead_letter_header.as_bytes(), |frame| {
            frames.push(frame);
            Ok(())
        });
        if listed.is_err() {
            return Ok(fallback(sizes, REFUSED));
        }
        match MessageFormat::parse(&format)? {
            MessageFormat::Frame => self.aggregate_frames(&frames, watermark, floats, ints, sizes),
            format => self.aggregate_messages(&frames, format, watermark, floats, ints, sizes),
        }
    }

    /// The same for one `json` or `msgpack` event per message, message `i` being
    /// `bytes[bounds[2i]..bounds[2i + 1]]` (JSON lines, as a file source hands them to the
    /// worker), read by the rules of `FieldProjector`; a message out of `bytes` or one it
    /// refuses falls back with `UNSUPPORTED_RECORDS`.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn aggregate_messages_in(
        &mut self,
        bytes: &[u8],
        bounds: &[u32],
        format: String,
        watermark: f64,
        mut floats: Float64ArraySlice,
        mut ints: Int32ArraySlice,
        mut sizes: Uint32ArraySlice,
    ) -> napi::Result<String> {
        let (floats, ints, sizes) = buffers(&mut floats, &mut ints, &mut sizes)?;
        let format = match MessageFormat::parse(&format)? {
            MessageFormat::Frame => {
                return Err(napi::Error::from_reason(
                    "frames hold many events: aggregate them with aggregate",
                ))
            }
            format => format,
        };
        match messages_in(bytes, bounds).collect::<Result<Vec<_>, _>>() {
            Ok(messages) => {
                self.aggregate_messages(&messages, format, watermark, floats, ints, sizes)
            }
            Err(json::Refused) => Ok(fallback(sizes, "UNSUPPORTED_RECORDS")),
        }
    }

    /// Pre-aggregates one JSON or msgpack event per message, in order, as one batch.
    fn aggregate_messages(
        &mut self,
        messages: &[&[u8]],
        format: MessageFormat,
        watermark: f64,
        floats: &mut [f64],
        ints: &mut [i32],
        sizes: &mut [u32],
    ) -> napi::Result<String> {
        let FrameAggregator {
            spec,
            fields,
            distinct_fields,
            field_slots,
            work,
            fill,
            ..
        } = self;
        pre_aggregate(
            spec,
            work,
            fill,
            watermark,
            floats,
            ints,
            sizes,
            |aggregator| {
                let mut read = vec![json::Field::Missing; distinct_fields.len()];
                let mut values = vec![Value::Missing; fields.len()];
                for message in messages {
                    let projected = match format {
                        MessageFormat::Json => json::project(message, distinct_fields, &mut read),
                        _ => msgpack::project(message, distinct_fields, &mut read),
                    };
                    projected.map_err(|_| "UNSUPPORTED_RECORDS")?;
                    for (value, &slot) in values.iter_mut().zip(field_slots.iter()) {
                        *value = match &read[slot] {
                            json::Field::Missing => Value::Missing,
                            json::Field::Null => Value::Nil,
                            json::Field::Bool(b) => Value::Bool(*b),
                            json::Field::Number(n) => Value::Num(*n),
                            json::Field::Text(Cow::Borrowed(text)) => Value::Str(text),
                            json::Field::Text(Cow::Owned(_)) => {
                                return Err("UNSUPPORTED_ESCAPED_TEXT")
                            }
                        };
                    }
                    aggregator.push(&values)?;
                }
                Ok(messages.len())
            },
        )
    }

    /// Pre-aggregates the events of `frames`, in order, as one batch.
    fn aggregate_frames(
        &mut self,
        frames: &[&[u8]],
        watermark: f64,
        floats: &mut [f64],
        ints: &mut [i32],
        sizes: &mut [u32],
    ) -> napi::Result<String> {
        if self.scratch.len() < frames.len() {
            self.scratch.resize_with(frames.len(), Vec::new);
        }
        let FrameAggregator {
            spec,
            fields,
            work,
            fill,
            scratch,
            ..
        } = self;
        let written = pre_aggregate(
            spec,
            work,
            fill,
            watermark,
            floats,
            ints,
            sizes,
            |aggregator| {
                // Each frame is decompressed into a buffer of its own: the batch's key and
                // first/last values point into every frame until the batch is written.
                let mut count = 0;
                for (frame, scratch) in frames.iter().zip(scratch.iter_mut()) {
                    let payload = frame::open_frame(frame, scratch)?;
                    read_events(payload.packed, payload.count, fields, aggregator)?;
                    count += payload.count;
                }
                Ok(count)
            },
        );
        // A frame's buffer is kept for the next call, unless a huge frame grew it.
        for scratch in &mut self.scratch {
            if scratch.capacity() > MAX_KEPT_SCRATCH {
                *scratch = Vec::new();
            }
        }
        written
    }
}

/// Folds a batch's events into an aggregator of `spec` with `read` (which returns how many
/// it read, or a fallback code) and writes the batch into the buffers: the checks, the
/// write and the take-back every input shares.
#[allow(clippy::too_many_arguments)]
fn pre_aggregate<'a>(
    spec: &'a Result<Spec, &'static str>,
    work: &mut Workspace,
    fill: &mut Vec<u32>,
    watermark: f64,
    floats: &mut [f64],
    ints: &mut [i32],
    sizes: &mut [u32],
    read: impl FnOnce(&mut Aggregator<'a, '_>) -> Result<usize, &'static str>,
) -> napi::Result<String> {
    let spec = match spec {
        Ok(spec) => spec,
        Err(code) => return Ok(fallback(sizes, code)),
    };
    if sizes.len() < SIZES_HEAD + spec.aggregates.len() {
        return Err(napi::Error::from_reason(
            "sizes holds too few entries for the aggregates",
        ));
    }
    let mut aggregator = Aggregator::new(spec, watermark, 0, work);
    let count = match read(&mut aggregator) {
        Ok(count) => count,
        Err(code) => return Ok(fallback(sizes, code)),
    };
    let batch = aggregator.finish();
    let text = write_batch(&batch, spec, count, fill, floats, ints, sizes);
    if sizes[0] == TOO_SMALL {
        // Called again with larger buffers, the batch must add its keys again.
        work.undo(&batch);
    }
    Ok(text)
}

/// Decompression buffers larger than this are freed after the call.
const MAX_KEPT_SCRATCH: usize = 8 << 20;

/// The buffers a call writes into, checked to be disjoint, as slices.
fn buffers<'b>(
    floats: &'b mut Float64ArraySlice,
    ints: &'b mut Int32ArraySlice,
    sizes: &'b mut Uint32ArraySlice,
) -> napi::Result<(&'b mut [f64], &'b mut [i32], &'b mut [u32])> {
    let ranges = [range_of(floats), range_of(ints), range_of(sizes)];
    if ranges.iter().enumerate().any(|(a, x)| {
        ranges[a + 1..]
            .iter()
            .any(|y| x.start < y.end && y.start < x.end)
    }) {
        return Err(napi::Error::from_reason(
            "floats, ints and sizes must not share memory",
        ));
    }
    // SAFETY: the three views were just checked to be disjoint, the call is synchronous on
    // the JavaScript thread that owns them, and no slice outlives it.
    Ok(unsafe { (floats.as_mut(), ints.as_mut(), sizes.as_mut()) })
}

/// The bytes a typed array views.
fn range_of<T>(view: &[T]) -> std::ops::Range<usize> {
    let start = view.as_ptr() as usize;
    start..start + std::mem::size_of_val(view)
}

fn fallback(sizes: &mut [u32], code: &str) -> String {
    if let Some(status) = sizes.first_mut() {
        *status = FALLBACK;
    }
    code.to_owned()
}

/// Sequential writes into a caller's buffer.
struct Cursor<'b, T> {
    buf: &'b mut [T],
    at: usize,
}

impl<T: Copy> Cursor<'_, T> {
    fn push(&mut self, value: T) {
        self.buf[self.at] = value;
        self.at += 1;
    }

    fn extend(&mut self, values: &[T]) {
        self.buf[self.at..self.at + values.len()].copy_from_slice(values);
        self.at += values.len();
    }
}

/// Writes `batch` into the buffers, in the order `native-frame-aggregator.ts` reads:
/// floats: times, marks, window starts, key numbers, then per column counts, numbers,
/// values (and for first/last, its values' numbers); ints: steps, key ids, key kinds,
/// then per column offsets (and for first/last, its values' kinds).
fn write_batch(
    batch: &Batch,
    spec: &Spec,
    count: usize,
    fill: &mut Vec<u32>,
    floats: &mut [f64],
    ints: &mut [i32],
    sizes: &mut [u32],
) -> String {
    let partials = batch.window_starts.len();
    let keys = batch.key_values.len();
    let holds = |function: &Fn| matches!(function, Fn::First | Fn::Last);
    let mut need_floats = batch.times.len() + batch.marks.len() + partials + keys;
    let mut need_ints = batch.steps.len() + partials + keys;
    for (column, (function, _)) in batch.columns.iter().zip(&spec.aggregates) {
        let scalars = if holds(function) { partials } else { 0 };
        need_floats += 2 * partials + column.values.len() + scalars;
        need_ints += partials + 1 + scalars;
    }
    if floats.len() < need_floats || ints.len() < need_ints {
        sizes[0] = TOO_SMALL;
        sizes[8] = need_floats as u32;
        sizes[9] = need_ints as u32;
        return String::new();
    }
    sizes[..8].copy_from_slice(&[
        WRITTEN,
        count as u32,
        batch.steps.len() as u32,
        batch.marks.len() as u32,
        partials as u32,
        keys as u32,
        u32::from(batch.keys_reset),
        batch.first_new_key,
    ]);
    let mut text = Text::default();
    let mut f = Cursor { buf: floats, at: 0 };
    let mut i = Cursor { buf: ints, at: 0 };
    f.extend(&batch.times);
    f.extend(&batch.marks);
    f.extend(&batch.window_starts);
    i.extend(&batch.steps);
    for &key in &batch.key_ids {
        i.push(key as i32);
    }
    let kinds_at = i.at;
    for (k, value) in batch.key_values.iter().enumerate() {
        let (kind, number) = text.scalar(value);
        f.push(number);
        i.buf[kinds_at + k] = kind;
    }
    i.at += keys;
    for (c, (column, (function, _))) in batch.columns.iter().zip(&spec.aggregates).enumerate() {
        sizes[SIZES_HEAD + c] = column.values.len() as u32;
        f.extend(&column.counts);
        f.extend(&column.numbers);
        // Sum values grouped by partial, each partial's in arrival order.
        let offsets_at = i.at;
        let offsets = &mut i.buf[offsets_at..offsets_at + partials + 1];
        offsets.fill(0);
        for &(p, _) in &column.values {
            offsets[p as usize + 1] += 1;
        }
        for p in 0..partials {
            offsets[p + 1] += offsets[p];
        }
        fill.clear();
        fill.extend(offsets[..partials].iter().map(|&o| o as u32));
        let values = &mut f.buf[f.at..f.at + column.values.len()];
        for &(p, v) in &column.values {
            values[fill[p as usize] as usize] = v;
            fill[p as usize] += 1;
        }
        f.at += column.values.len();
        i.at += partials + 1;
        if holds(function) {
            for scalar in &column.scalars {
                let (kind, number) = text.scalar(scalar);
                f.push(number);
                i.push(kind);
            }
        }
    }
    text.text
}

/// Only the frame checks: the failure code, or null for a frame whose payload reads.
#[napi]
pub fn check_frame(frame: Buffer) -> Option<String> {
    let mut scratch = Vec::new();
    match frame::open_frame(&frame, &mut scratch) {
        Err(code) => Some(code.to_owned()),
        Ok(payload) => {
            let mut reader = Reader::new(payload.packed);
            let read = (|| -> Result<(), &'static str> {
                let bad = |_| "FRAME_PAYLOAD_INVALID";
                let length = reader
                    .array_header()
                    .map_err(bad)?
                    .ok_or("FRAME_PAYLOAD_INVALID")?;
                let mut all_maps = true;
                for _ in 0..length {
                    let at = reader.pos;
                    all_maps &= reader.map_header().map_err(bad)?.is_some();
                    reader.pos = at;
                    reader.skip(1).map_err(bad)?;
                }
                if !reader.at_end() {
                    return Err("FRAME_PAYLOAD_INVALID");
                }
                if length != payload.count {
                    return Err("FRAME_COUNT_MISMATCH");
                }
                if !all_maps {
                    return Err("FRAME_PAYLOAD_INVALID");
                }
                Ok(())
            })();
            read.err().map(str::to_owned)
        }
    }
}

/// The wanted fields of a batch of messages, compact: per message and field a kind
/// (0 missing, 1 null, 2 false, 3 true, 4 number, 5 string) and a number (the value, or
/// for a string the UTF-16 offset where it ends in `text`).
#[napi(object)]
pub struct FieldProjection {
    /// False when a message was refused: the batch is then not read (the rest is empty).
    pub read: bool,
    /// Events read (a frame holds many).
    pub count: u32,
    pub kinds: Uint8Array,
    pub numbers: Float64Array,
    pub text: String,
}

/// How a message holds its events.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MessageFormat {
    /// One JSON event (`core/src/json.rs`).
    Json,
    /// One msgpack event (`core/src/msgpack.rs`).
    Msgpack,
    /// A sluice frame of many msgpack events (`core/src/frame.rs`).
    Frame,
}

impl MessageFormat {
    /// `json`, `msgpack` or `frame`.
    fn parse(name: &str) -> napi::Result<Self> {
        match name {
            "json" => Ok(MessageFormat::Json),
            "msgpack" => Ok(MessageFormat::Msgpack),
            "frame" => Ok(MessageFormat::Frame),
            _ => Err(napi::Error::from_reason(format!(
                "unknown message format {name}"
            ))),
        }
    }
}

/// Message `i` of `bytes` is `bytes[bounds[2i]..bounds[2i + 1]]`; one out of `bytes` is refused.
fn messages_in<'b>(
    bytes: &'b [u8],
    bounds: &'b [u32],
) -> impl Iterator<Item = Result<&'b [u8], json::Refused>> + 'b {
    bounds.chunks_exact(2).map(move |pair| {
        bytes
            .get(pair[0] as usize..pair[1] as usize)
            .ok_or(json::Refused)
    })
}

/// Reads the same top-level fields out of the events of many messages.
#[napi]
pub struct FieldProjector {
    fields: Vec<String>,
    format: MessageFormat,
}

/// A projection being filled, message by message (`'m`: the messages' bytes).
struct Projecting<'f, 'm> {
    fields: &'f [String],
    format: MessageFormat,
    /// Decompressed frame payloads, reused from frame to frame.
    scratch: Vec<u8>,
    slots: Vec<json::Field<'m>>,
    count: u32,
    kinds: Vec<u8>,
    numbers: Vec<f64>,
    text: Text,
}

impl<'f, 'm> Projecting<'f, 'm> {
    fn new(projector: &'f FieldProjector, messages: usize) -> Self {
        let fields = projector.fields.as_slice();
        Projecting {
            fields,
            format: projector.format,
            scratch: Vec::new(),
            slots: vec![json::Field::Missing; fields.len()],
            count: 0,
            kinds: Vec::with_capacity(messages * fields.len()),
            numbers: Vec::with_capacity(messages * fields.len()),
            text: Text::default(),
        }
    }

    fn message(&mut self, message: &'m [u8]) -> Result<(), json::Refused> {
        match self.format {
            MessageFormat::Json => json::project(message, self.fields, &mut self.slots)?,
            MessageFormat::Msgpack => msgpack::project(message, self.fields, &mut self.slots)?,
            MessageFormat::Frame => return self.frame(message),
        }
        let slots = std::mem::take(&mut self.slots);
        self.event(&slots);
        self.slots = slots;
        Ok(())
    }

    /// Every event of a frame; its payload lives in `scratch`, so its values are copied
    /// out event by event.
    fn frame(&mut self, message: &[u8]) -> Result<(), json::Refused> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let fields = self.fields;
        let outcome =
            msgpack::project_frame(message, &mut scratch, fields, |slots| self.event(slots));
        self.scratch = scratch;
        outcome
    }

    /// Copies one event's wanted fields out.
    fn event(&mut self, slots: &[json::Field<'_>]) {
        for slot in slots {
            let (kind, number) = match slot {
                json::Field::Missing => (0, 0.0),
                json::Field::Null => (1, 0.0),
                json::Field::Bool(b) => (2 + u8::from(*b), 0.0),
                json::Field::Number(n) => (4, *n),
                json::Field::Text(s) => (5, self.text.push(s)),
            };
            self.kinds.push(kind);
            self.numbers.push(number);
        }
        self.count += 1;
    }

    fn finish(self, outcome: Result<(), json::Refused>) -> FieldProjection {
        match outcome {
            Ok(()) => FieldProjection {
                read: true,
                count: self.count,
                kinds: Uint8Array::new(self.kinds),
                numbers: Float64Array::new(self.numbers),
                text: self.text.text,
            },
            Err(json::Refused) => FieldProjection {
                read: false,
                count: 0,
                kinds: Uint8Array::new(Vec::new()),
                numbers: Float64Array::new(Vec::new()),
                text: String::new(),
            },
        }
    }
}

#[napi]
impl FieldProjector {
    /// `format`: `json`, `msgpack` or `frame`.
    #[napi(constructor)]
    pub fn new(fields: Vec<String>, format: String) -> napi::Result<Self> {
        let format = MessageFormat::parse(&format)?;
        Ok(FieldProjector { fields, format })
    }

    /// Message `i` is `bytes[bounds[2i]..bounds[2i + 1]]`.
    #[napi]
    pub fn project(&self, bytes: Uint8Array, bounds: Uint32Array) -> FieldProjection {
        let mut projecting = Projecting::new(self, bounds.len() / 2);
        let outcome =
            messages_in(&bytes, &bounds).try_for_each(|message| projecting.message(message?));
        projecting.finish(outcome)
    }

    /// The records of whole v2 record batches back to back, uncompressed or LZ4
    /// (`core/src/kafka.rs`), from `from_offset` on; a record with a header named
    /// `dead_letter_header` refuses the batch.
    #[napi]
    pub fn project_record_batches(
        &self,
        bytes: Uint8Array,
        from_offset: f64,
        dead_letter_header: String,
    ) -> FieldProjection {
        // Read (and decompressed) first, so that the values read from it outlive the reading.
        let fetched = if from_offset.fract() != 0.0 || from_offset.abs() > 9.0e15 {
            Err(json::Refused)
        } else {
            kafka::Fetched::read(&bytes)
        };
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(refused) => return Projecting::new(self, 0).finish(Err(refused)),
        };
        let mut projecting = Projecting::new(self, bytes.len() / 64);
        let outcome = fetched.values(from_offset as i64, dead_letter_header.as_bytes(), |value| {
            projecting.message(value)
        });
        projecting.finish(outcome)
    }
}
