#![deny(clippy::all)]
//! sluice's native hot path: a sluice frame decoded straight into per-(window, key)
//! partial aggregates, crossing the JS boundary once per batch. The TS twin in
//! `native/twin/` computes the same result; `native/index.ts` picks one.

use napi::bindgen_prelude::{Buffer, Either3, Float64Array, Int32Array, Uint32Array, Uint8Array};
use napi_derive::napi;
use sluice_native_core::batch::{Aggregator, Batch, Fn, Scalar, Spec};
use sluice_native_core::msgpack::Reader;
use sluice_native_core::{frame, json, kafka, msgpack, read_events};

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
    pub allowed_lateness_ms: f64,
    pub max_out_of_order_ms: f64,
}

type JsScalar = Option<Either3<String, f64, bool>>;

#[napi(object)]
pub struct NativeColumn {
    pub counts: Float64Array,
    pub numbers: Float64Array,
    pub scalars: Vec<JsScalar>,
    pub values: Float64Array,
    pub offsets: Uint32Array,
}

#[napi(object)]
pub struct NativeBatch {
    /// Null when the batch was aggregated; else why the TS path must take it.
    pub fallback: Option<String>,
    pub count: u32,
    pub steps: Int32Array,
    pub marks: Float64Array,
    pub times: Float64Array,
    pub window_starts: Float64Array,
    pub key_ids: Uint32Array,
    /// Key values, compact: per value a kind (0 null, 1 false, 2 true, 3 number, 4 string)
    /// and a number (the value, or for a string the UTF-16 offset where it ends in `key_text`).
    pub key_kinds: Uint8Array,
    pub key_numbers: Float64Array,
    pub key_text: String,
    pub columns: Vec<NativeColumn>,
}

fn to_js(scalar: &Scalar) -> JsScalar {
    match *scalar {
        Scalar::Nil => None,
        Scalar::Bool(b) => Some(Either3::C(b)),
        Scalar::Num(n) => Some(Either3::B(n)),
        Scalar::Str(s) => Some(Either3::A(s.to_owned())),
    }
}

fn fallback(code: &str) -> NativeBatch {
    NativeBatch {
        fallback: Some(code.to_owned()),
        count: 0,
        steps: Int32Array::new(Vec::new()),
        marks: Float64Array::new(Vec::new()),
        times: Float64Array::new(Vec::new()),
        window_starts: Float64Array::new(Vec::new()),
        key_ids: Uint32Array::new(Vec::new()),
        key_kinds: Uint8Array::new(Vec::new()),
        key_numbers: Float64Array::new(Vec::new()),
        key_text: String::new(),
        columns: Vec::new(),
    }
}

fn parse_spec(spec: &FrameSpec) -> Result<Spec, &'static str> {
    let integral = |x: f64| x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15;
    if !integral(spec.size_ms)
        || spec.size_ms <= 0.0
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
        aggregates.push((function, field));
    }
    if spec.fields.is_empty() || spec.group_by as usize >= spec.fields.len() {
        return Err("UNSUPPORTED_SPEC");
    }
    Ok(Spec {
        size: spec.size_ms as i64,
        lateness: spec.allowed_lateness_ms as i64,
        out_of_order: spec.max_out_of_order_ms as i64,
        group_by: spec.group_by as usize,
        aggregates,
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

fn to_native(batch: Batch, spec: &Spec, count: usize) -> NativeBatch {
    let partials = batch.window_starts.len();
    let mut key_kinds = Vec::with_capacity(batch.key_values.len());
    let mut key_numbers = Vec::with_capacity(batch.key_values.len());
    let mut key_text = String::new();
    let mut text_units = 0usize;
    for value in &batch.key_values {
        let (kind, number) = match *value {
            Scalar::Nil => (0, 0.0),
            Scalar::Bool(b) => (1 + u8::from(b), 0.0),
            Scalar::Num(n) => (3, n),
            Scalar::Str(s) => {
                key_text.push_str(s);
                text_units += utf16_len(s);
                (4, text_units as f64)
            }
        };
        key_kinds.push(kind);
        key_numbers.push(number);
    }
    let columns = batch
        .columns
        .into_iter()
        .zip(spec.aggregates.iter())
        .map(|(column, (function, _))| {
            let holds_values = matches!(function, Fn::First | Fn::Last);
            let mut offsets = vec![0u32; partials + 1];
            for &(p, _) in &column.values {
                offsets[p as usize + 1] += 1;
            }
            for p in 0..partials {
                offsets[p + 1] += offsets[p];
            }
            let mut fill = offsets.clone();
            let mut values = vec![0.0; column.values.len()];
            for &(p, v) in &column.values {
                values[fill[p as usize] as usize] = v;
                fill[p as usize] += 1;
            }
            NativeColumn {
                counts: Float64Array::new(column.counts),
                numbers: Float64Array::new(column.numbers),
                scalars: if holds_values {
                    column.scalars.iter().map(to_js).collect()
                } else {
                    Vec::new()
                },
                values: Float64Array::new(values),
                offsets: Uint32Array::new(offsets),
            }
        })
        .collect();
    NativeBatch {
        fallback: None,
        count: count as u32,
        steps: Int32Array::new(batch.steps),
        marks: Float64Array::new(batch.marks),
        times: Float64Array::new(batch.times),
        window_starts: Float64Array::new(batch.window_starts),
        key_ids: Uint32Array::new(batch.key_ids),
        key_kinds: Uint8Array::new(key_kinds),
        key_numbers: Float64Array::new(key_numbers),
        key_text,
        columns,
    }
}

thread_local! {
    /// Decompressed payloads, reused from frame to frame (each worker thread has its own).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Decodes a sluice frame and pre-aggregates it against the operator's `watermark`.
#[napi]
pub fn aggregate_frame(frame: Buffer, spec: FrameSpec, watermark: f64) -> NativeBatch {
    let parsed = match parse_spec(&spec) {
        Ok(parsed) => parsed,
        Err(code) => return fallback(code),
    };
    SCRATCH.with_borrow_mut(|scratch| {
        let payload = match frame::open_frame(&frame, scratch) {
            Ok(payload) => payload,
            Err(code) => return fallback(code),
        };
        let mut aggregator = Aggregator::new(&parsed, watermark, payload.count.min(1 << 20));
        match read_events(payload.packed, payload.count, &spec.fields, &mut aggregator) {
            Ok(()) => to_native(aggregator.finish(), &parsed, payload.count),
            Err(code) => fallback(code),
        }
    })
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
    text: String,
    text_units: usize,
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
            text: String::new(),
            text_units: 0,
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
        let outcome = msgpack::project_frame(message, &mut scratch, fields, |slots| self.event(slots));
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
                json::Field::Text(s) => {
                    self.text.push_str(s);
                    self.text_units += utf16_len(s);
                    (5, self.text_units as f64)
                }
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
                text: self.text,
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
        let format = match format.as_str() {
            "json" => MessageFormat::Json,
            "msgpack" => MessageFormat::Msgpack,
            "frame" => MessageFormat::Frame,
            _ => return Err(napi::Error::from_reason(format!("unknown message format {format}"))),
        };
        Ok(FieldProjector { fields, format })
    }

    /// Message `i` is `bytes[bounds[2i]..bounds[2i + 1]]`.
    #[napi]
    pub fn project(&self, bytes: Uint8Array, bounds: Uint32Array) -> FieldProjection {
        let mut projecting = Projecting::new(self, bounds.len() / 2);
        let outcome = bounds.chunks_exact(2).try_for_each(|pair| {
            let message = bytes.get(pair[0] as usize..pair[1] as usize).ok_or(json::Refused)?;
            projecting.message(message)
        });
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
