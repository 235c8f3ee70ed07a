/**
 * Scenario `native`: frame decode + pre-aggregation into a tumbling window, 100K keys —
 * the native addon against its TS twin, against the per-event path (`decodeFrame` +
 * `WindowOperator.processBatch`) and against the native field reader + `processBatch`
 * (a partition's path for frames). Before timing, all paths must emit the same rows,
 * byte for byte; that check runs every path over every frame, which warms it up. Then
 * each path runs the same pre-built frames through a fresh operator, timed: events/s are
 * events per second of this process's CPU time (one thread does the work: per core),
 * latency is per frame. `aggregateFrame` alone (no merge into the operator)
 * is timed too: the figure of the crate itself. The frame paths run over a hopping
 * window as well (1 minute every 30 s: each event in two windows), pre-aggregated and
 * through the field reader.
 *
 * Then JSON: the same events, one JSON message each, in Kafka record batches as a
 * partition's worker receives them, read natively for the window's fields
 * (`projectKafkaRecords`) against the TS path (`readRecordBatches` + `decodeKafkaRecords`:
 * a `JSON.parse` per message), each into `processBatch`; and pre-aggregated natively
 * (`aggregateKafkaRecords`, a partition's path for one tumbling window) against the TS
 * twin over the decoded events, each played with `runBatch` — checked equal, then timed
 * alike.
 *
 *   node --import tsx bench/native/decode-aggregate.ts [events] [eventsPerFrame]
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { decodeFrame, encodeFrame } from '../../actors/codecs/frame.ts';
import { createGenerator } from '../../actors/generator/index.ts';
import {
  aggregateKafkaRecords,
  decodeKafkaRecords,
  projectKafkaRecords,
} from '../../actors/kafka/decode-records.ts';
import type { PackedKafkaBatch } from '../../actors/kafka/kafka-batch.ts';
import { readRecordBatches } from '../../actors/kafka/raw-record-batches.ts';
import {
  type Emitter,
  formatRow,
  WindowOperator,
  type WindowOperatorConfig,
} from '../../actors/windows/index.ts';
import { createFieldProjector, type FieldProjector } from '../../native/field-projection.ts';
import {
  aggregateEvents,
  aggregateFrameNative,
  aggregateFrameTwin,
  createFrameAggregator,
  describeNativePath,
  type FrameSpec,
  frameSpecFor,
  type NativeBatch,
  nativeAddon,
  runBatch,
  TwinKeys,
} from '../../native/index.ts';
import { runScenarioChild, scenarioMain } from '../lib/child-scenario.ts';
import { LatencyRecorder, measureProcess } from '../lib/figures.ts';
import { runContext } from '../lib/machine.ts';
import type { ScenarioResult, SystemFigures } from '../lib/scenario-result.ts';

export interface NativeOptions {
  quick: boolean;
  command: string;
  events?: number;
  perFrame?: number;
}

const config: WindowOperatorConfig = {
  window: { type: 'tumbling', sizeMs: 60_000 },
  allowedLatenessMs: 0,
  maxOutOfOrderMs: 5_000,
  groupBy: ['user_id'],
  aggregates: [
    { name: 'events', fn: 'count' },
    { name: 'amount', fn: 'sum', field: 'amount' },
    { name: 'largest', fn: 'max', field: 'amount' },
    { name: 'mean', fn: 'avg', field: 'amount' },
  ],
};
const spec = frameSpecFor(config, 'ts') as FrameSpec;
/** The same aggregates over a hopping window: each event in two windows. */
const hoppingConfig: WindowOperatorConfig = {
  ...config,
  window: { type: 'hopping', sizeMs: 60_000, slideMs: 30_000 },
};
const hoppingSpec = frameSpecFor(hoppingConfig, 'ts') as FrameSpec;

function buildFrames(events: number, perFrame: number): Buffer[] {
  const generator = createGenerator({ keys: 100_000, skew: 0.8, seed: 9 });
  const frames: Buffer[] = [];
  for (let made = 0; made < events; made += perFrame) {
    const batch = generator.nextBatch(Math.min(perFrame, events - made)).events;
    // Event time moves 60 ms per 1,000 events: ~1M events per one-minute window.
    batch.forEach((event, index) => {
      event.ts = 1_714_564_800_000 + Math.floor(((made + index) * 60) / 1000);
    });
    frames.push(encodeFrame(batch));
  }
  return frames;
}

/** The same events as `buildFrames`, one JSON message each, in uncompressed v2 record batches. */
async function buildRecordBatches(events: number, perBatch: number): Promise<PackedKafkaBatch[]> {
  const require = createRequire(import.meta.url);
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
  const generator = createGenerator({ keys: 100_000, skew: 0.8, seed: 9 });
  const batches: PackedKafkaBatch[] = [];
  for (let made = 0; made < events; made += perBatch) {
    const batch = generator.nextBatch(Math.min(perBatch, events - made)).events;
    const records = batch.map((event, index) => {
      event.ts = 1_714_564_800_000 + Math.floor(((made + index) * 60) / 1000);
      return Record({ offsetDelta: index, key: null, value: Buffer.from(JSON.stringify(event)) });
    });
    const encoded = await RecordBatch({
      compression: 0,
      firstOffset: String(made),
      lastOffsetDelta: records.length - 1,
      records,
    });
    const bytes = encoded.buffer as Buffer;
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    batches.push({
      topic: 'bench',
      partition: 0,
      count: 1,
      buffer,
      nextOffset: String(made + batch.length),
      fromOffset: String(made),
    });
  }
  return batches;
}

type Path = (operator: WindowOperator, frame: Buffer, emit: Emitter) => void;

function fastPath(
  aggregate: (frame: Buffer, spec: FrameSpec, watermark: number) => NativeBatch,
  frameSpec: FrameSpec = spec,
): Path {
  return (operator, frame, emit) =>
    playBatch(operator, aggregate(frame, frameSpec, operator.watermark), emit);
}

/** Passes over the frames for the aggregate step alone. */
const ALONE_PASSES = 5;

/** System names stay short: they label the charts. */
const PER_EVENT = 'per-event TS';
const NATIVE_FIELDS = 'native fields';
const TWIN = 'TS twin';
const NATIVE = 'native';
const NATIVE_ALONE = 'native aggregate only';
const TWIN_ALONE = 'TS twin aggregate only';

/** The partition's native path for frames beside pre-aggregation: the window's fields read natively, then `processBatch`. */
function fieldsPath(projector: FieldProjector): Path {
  return (operator, frame, emit) => {
    const events = projector.project([frame]);
    if (events === null) throw new Error('the benchmark input has nothing the native reader refuses');
    operator.processBatch(events, timesOf(events), emit);
  };
}
const frameProjector = createFieldProjector(['ts', ...config.groupBy, 'amount'], 'frame');
const paths: Record<string, Path> = {
  ...(nativeAddon === null ? {} : { [NATIVE]: fastPath(aggregateFrameNative) }),
  [TWIN]: fastPath(aggregateFrameTwin),
  ...(frameProjector === null
    ? {}
    : {
        [NATIVE_FIELDS]: fieldsPath(frameProjector),
      }),
  [PER_EVENT]: (operator, frame, emit) => {
    const decoded = decodeFrame(frame);
    if (!decoded.ok) throw new Error(decoded.reason);
    const times = new Float64Array(decoded.events.length);
    for (let i = 0; i < times.length; i++) times[i] = decoded.events[i].ts as number;
    operator.processBatch(decoded.events, times, emit);
  },
};

type JsonPath = (operator: WindowOperator, batch: PackedKafkaBatch, emit: Emitter) => void;

const NATIVE_JSON = 'native JSON';
const TS_JSON = 'TS JSON (JSON.parse)';
const NATIVE_JSON_PARTIALS = 'native JSON pre-aggregated';
const TWIN_JSON = 'TS twin JSON';

function timesOf(events: ReadonlyArray<Record<string, unknown> | null>): Float64Array {
  const times = new Float64Array(events.length);
  for (let i = 0; i < times.length; i++) times[i] = events[i]?.ts as number;
  return times;
}

const projector = createFieldProjector(['ts', ...config.groupBy, 'amount'], 'json');
/** The partition's path for JSON into one tumbling window: the record batches pre-aggregated natively. */
const jsonAggregator = createFrameAggregator(spec);
/** The twin's key ids, kept from batch to batch as the addon keeps its own. */
const twinKeys = new TwinKeys();

/** A batch's JSON messages as the TS path decodes them (`JSON.parse` each). */
function decodeJsonBatch(batch: PackedKafkaBatch): Array<Record<string, unknown>> {
  const { offsets, values } = readRecordBatches(new Uint8Array(batch.buffer), BigInt(batch.fromOffset ?? 0));
  const decoded = decodeKafkaRecords('json', {
    topic: batch.topic,
    partition: batch.partition,
    offsets,
    values,
    nextOffset: batch.nextOffset,
  });
  if (decoded.failures.length > 0) throw new Error('the benchmark input has no bad messages');
  return decoded.events as Array<Record<string, unknown>>;
}

/** Plays a pre-aggregated batch into the operator; the input has no late or malformed events. */
function playBatch(operator: WindowOperator, batch: NativeBatch | null, emit: Emitter): void {
  if (batch === null || batch.fallback !== null) throw new Error(`unexpected fallback ${batch?.fallback}`);
  runBatch(
    operator,
    batch,
    () => {
      throw new Error('the benchmark input has no late or malformed events');
    },
    emit,
  );
}
const jsonPaths: Record<string, JsonPath> = {
  ...(projector === null
    ? {}
    : {
        [NATIVE_JSON]: (operator, batch, emit) => {
          const events = projectKafkaRecords(projector, batch);
          if (events === null) throw new Error('the benchmark input has nothing the native reader refuses');
          operator.processBatch(events, timesOf(events), emit);
        },
      }),
  [TS_JSON]: (operator, batch, emit) => {
    const events = decodeJsonBatch(batch);
    operator.processBatch(events, timesOf(events), emit);
  },
  ...(jsonAggregator === null
    ? {}
    : {
        [NATIVE_JSON_PARTIALS]: (operator: WindowOperator, batch: PackedKafkaBatch, emit: Emitter) =>
          playBatch(operator, aggregateKafkaRecords(jsonAggregator, batch, 'json', operator.watermark), emit),
      }),
  [TWIN_JSON]: (operator, batch, emit) =>
    playBatch(operator, aggregateEvents(decodeJsonBatch(batch), spec, operator.watermark, twinKeys), emit),
};

const NATIVE_HOPPING = 'native, hopping';
const TWIN_HOPPING = 'TS twin, hopping';
const FIELDS_HOPPING = 'native fields, hopping';
/** The frame paths over the hopping window: pre-aggregated (native, twin) and the field reader. */
const hoppingPaths: Record<string, Path> = {
  ...(nativeAddon === null ? {} : { [NATIVE_HOPPING]: fastPath(aggregateFrameNative, hoppingSpec) }),
  [TWIN_HOPPING]: fastPath(aggregateFrameTwin, hoppingSpec),
  ...(frameProjector === null ? {} : { [FIELDS_HOPPING]: fieldsPath(frameProjector) }),
};

function rowsOf<Input>(
  path: (operator: WindowOperator, input: Input, emit: Emitter) => void,
  inputs: readonly Input[],
  windowConfig: WindowOperatorConfig = config,
): string[] {
  const rows: string[] = [];
  const emit: Emitter = {
    row: (row) => rows.push(formatRow(row)),
    late: () => {
      throw new Error('no late records expected');
    },
  };
  const operator = new WindowOperator(windowConfig);
  for (const input of inputs) path(operator, input, emit);
  operator.advanceWatermark(Number.POSITIVE_INFINITY, emit);
  return rows;
}

/** Each timed run's step: `path` into a fresh operator, its output dropped. */
function onFreshOperator<Input>(
  path: (operator: WindowOperator, input: Input, emit: Emitter) => void,
  windowConfig: WindowOperatorConfig = config,
): () => (input: Input) => void {
  return () => {
    const operator = new WindowOperator(windowConfig);
    const emit: Emitter = { row: () => {}, late: () => {} };
    return (input) => path(operator, input, emit);
  };
}

/**
 * Times `step` over every input on this thread. No warm-up pass of its own: the agreement
 * check has run every path over every frame already.
 */
function timed<Input>(
  system: string,
  events: number,
  inputs: readonly Input[],
  fresh: () => (input: Input) => void,
  latencyOf: string,
): SystemFigures {
  const step = fresh();
  const latency = new LatencyRecorder();
  const measure = measureProcess();
  for (const input of inputs) {
    const before = performance.now();
    step(input);
    latency.record((performance.now() - before) * 1000);
  }
  const usage = measure.stop();
  return {
    system,
    scenario: system,
    events,
    ...usage,
    eventsPerSecond: events / (usage.cpuMs / 1000),
    latencyUs: latency.percentiles(),
    latencyOf,
  };
}

export async function runNative(options: NativeOptions): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const events = options.events ?? (options.quick ? 100_000 : 500_000);
  const perFrame = options.perFrame ?? 5_000;
  const frames = buildFrames(events, perFrame);
  // Agreement first: every path emits the same rows, byte for byte.
  const [referenceName, ...others] = Object.keys(paths) as [string, ...string[]];
  const reference = rowsOf(paths[referenceName] as Path, frames);
  const lines = [`${referenceName}: ${reference.length.toLocaleString('en-US')} rows (reference)`];
  let agree = true;
  const compare = (name: string, rows: string[], expected = reference) => {
    const same = rows.length === expected.length && rows.every((row, index) => row === expected[index]);
    agree &&= same;
    lines.push(`${name}: ${same ? 'the same rows, byte for byte' : 'DIFFERENT rows'}`);
  };
  for (const name of others) compare(name, rowsOf(paths[name] as Path, frames));
  const [hoppingReference, ...hoppingOthers] = Object.keys(hoppingPaths) as [string, ...string[]];
  const hoppingRows = rowsOf(hoppingPaths[hoppingReference] as Path, frames, hoppingConfig);
  lines.push(
    `${hoppingReference}: ${hoppingRows.length.toLocaleString('en-US')} rows (reference for the hopping paths)`,
  );
  for (const name of hoppingOthers) {
    compare(name, rowsOf(hoppingPaths[name] as Path, frames, hoppingConfig), hoppingRows);
  }
  const recordBatches = await buildRecordBatches(events, perFrame);
  for (const [name, path] of Object.entries(jsonPaths)) compare(name, rowsOf(path, recordBatches));
  const systems: SystemFigures[] = [];
  if (agree) {
    for (const [name, path] of Object.entries(paths)) {
      systems.push(
        timed(
          name,
          events,
          frames,
          onFreshOperator(path),
          `${{ [PER_EVENT]: 'decodeFrame + processBatch', [NATIVE_FIELDS]: 'FieldProjector.project + processBatch' }[name] ?? 'aggregateFrame + runBatch'}, per frame of ${perFrame.toLocaleString('en-US')} events: decode → window state applied; events/s per second of CPU on one thread`,
        ),
      );
    }
    const alone: Array<[string, typeof aggregateFrameTwin]> = [
      ...(nativeAddon === null
        ? []
        : [[NATIVE_ALONE, aggregateFrameNative] as [string, typeof aggregateFrameTwin]]),
      [TWIN_ALONE, aggregateFrameTwin],
    ];
    // The step alone takes a tenth of a second per pass over the frames: timed over
    // several passes (key ids kept, as in a partition that runs on) to stand above noise.
    const passes = options.quick ? 1 : ALONE_PASSES;
    const repeated = Array.from({ length: passes }, () => frames).flat();
    for (const [name, aggregate] of alone) {
      systems.push(
        timed(
          name,
          events * passes,
          repeated,
          () => (frame) => aggregate(frame, spec, Number.NEGATIVE_INFINITY),
          `aggregateFrame alone, per frame of ${perFrame.toLocaleString('en-US')} events, ${passes} pass${passes > 1 ? 'es' : ''} over the frames: decode + pre-aggregate, no merge into the operator; events/s per second of CPU`,
        ),
      );
    }
    for (const [name, path] of Object.entries(jsonPaths)) {
      systems.push(
        timed(
          name,
          events,
          recordBatches,
          onFreshOperator(path),
          `${{ [TS_JSON]: 'readRecordBatches + decodeKafkaRecords + processBatch', [NATIVE_JSON]: 'projectKafkaRecords + processBatch', [NATIVE_JSON_PARTIALS]: 'aggregateRecordBatches + runBatch', [TWIN_JSON]: 'readRecordBatches + decodeKafkaRecords + aggregateEvents + runBatch' }[name]}, per record batch of ${perFrame.toLocaleString('en-US')} JSON messages: decode → window state applied; events/s per second of CPU on one thread`,
        ),
      );
    }
    for (const [name, path] of Object.entries(hoppingPaths)) {
      systems.push(
        timed(
          name,
          events,
          frames,
          onFreshOperator(path, hoppingConfig),
          `${name === FIELDS_HOPPING ? 'FieldProjector.project + processBatch' : 'aggregateFrame + runBatch'}, hopping 1 min every 30 s, per frame of ${perFrame.toLocaleString('en-US')} events: decode → window state applied; events/s per second of CPU on one thread`,
        ),
      );
    }
  }
  const rate = (name: string) => systems.find((system) => system.system === name)?.eventsPerSecond;
  const ratio = (a: string, b: string): string => {
    const top = rate(a);
    const bottom = rate(b);
    return top === undefined || bottom === undefined ? '–' : `${(top / bottom).toFixed(2)}×`;
  };
  return {
    scenario: 'native',
    context,
    quick: options.quick,
    input: `${events.toLocaleString('en-US')} generator events (100,000 keys, skew 0.8) in LZ4 sluice frames of ${perFrame.toLocaleString('en-US')}, and as one JSON message each in uncompressed Kafka record batches of ${perFrame.toLocaleString('en-US')}, in memory; tumbling 1 min (and hopping 1 min every 30 s), count/sum/max/avg by user_id; ${describeNativePath()}`,
    check: { agree, lines },
    systems,
    skipped: [
      ...(nativeAddon === null ? [`native: skipped — ${describeNativePath()}; only the TS paths ran`] : []),
      'the last column compares with the first row (native end to end); the aggregateFrame-alone ratio is in the table below',
    ],
    table: {
      header: ['ratio (events/s per core)', 'value', 'target'],
      rows: [
        ['native ÷ TS twin, end to end', ratio(NATIVE, TWIN), '≥ 3×'],
        ['native ÷ TS twin, aggregateFrame alone', ratio(NATIVE_ALONE, TWIN_ALONE), '≥ 3×'],
        ['native ÷ per-event TS, end to end', ratio(NATIVE, PER_EVENT), '–'],
        ['native ÷ native fields + processBatch, end to end', ratio(NATIVE, NATIVE_FIELDS), '–'],
        ['native JSON ÷ TS JSON (JSON.parse), end to end', ratio(NATIVE_JSON, TS_JSON), '–'],
        [
          'native JSON pre-aggregated ÷ TS twin JSON, end to end',
          ratio(NATIVE_JSON_PARTIALS, TWIN_JSON),
          '≥ 3×',
        ],
        ['native ÷ TS twin, hopping, end to end', ratio(NATIVE_HOPPING, TWIN_HOPPING), '–'],
        [
          'native ÷ native fields + processBatch, hopping, end to end',
          ratio(NATIVE_HOPPING, FIELDS_HOPPING),
          '–',
        ],
      ],
    },
  };
}

/** The scenario for the suite: in its own process, so RSS and CPU are its own. */
export function runNativeScenario(options: NativeOptions): Promise<ScenarioResult> {
  return runScenarioChild(fileURLToPath(import.meta.url), options);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await scenarioMain(runNative, (command) => ({
    quick: false,
    command,
    events: process.argv[2] === undefined ? undefined : Number(process.argv[2]),
    perFrame: process.argv[3] === undefined ? undefined : Number(process.argv[3]),
  }));
}
