/**
 * The gateway bench's stand-in for the partition actors, on a thread of its own as in a
 * job: it takes the feeders' packed log records (transferred, as the job's partition
 * actors get them), decodes them and counts their events; in the fixed-load run it also
 * applies them to a tumbling 1-minute count per user_id (the real WindowOperator, one
 * per partition) and records ingest → window-state-applied latency. `finish` answers
 * with the totals.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type PackedLogRecords, unpackLogRecords } from '../../actors/gateway/log-batch.ts';
import type { SluiceEvent } from '../../actors/windows/index.ts';
import { CountingWindow } from '../lib/counting-window.ts';
import { LatencyRecorder } from '../lib/figures.ts';
import type { StandInData, StandInReply, StandInRequest } from './partition-workers.ts';

const port = parentPort;
if (port === null) throw new Error('partition-stand-in.ts runs as a worker thread');
const { partitions, windows } = workerData as StandInData;
const counting = windows ? Array.from({ length: partitions }, () => new CountingWindow()) : null;
const applied = new LatencyRecorder();
let delivered = 0;

/** Wall-clock microseconds, comparable with the load generator's stamps on this host. */
function wallMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function apply(partition: number, records: PackedLogRecords): void {
  const { events } = unpackLogRecords(records);
  delivered += events.length;
  const window = counting?.[partition];
  if (window === undefined) return;
  const valid = events.filter((event): event is SluiceEvent => event !== null);
  const times = new Float64Array(valid.length);
  let oldest = Number.POSITIVE_INFINITY;
  for (let index = 0; index < valid.length; index++) {
    times[index] = valid[index].ts as number;
    oldest = Math.min(oldest, valid[index].sent_us as number);
  }
  window.apply(valid, times);
  if (valid.length > 0) applied.record(wallMicros() - oldest);
}

port.on('message', (request: StandInRequest) => {
  let reply: StandInReply;
  if (request.type === 'records') {
    apply(request.partition, request.records);
    reply = { type: 'applied', seq: request.seq, delivered };
  } else {
    let counted: number | null = null;
    let late = 0;
    for (const window of counting ?? []) {
      const totals = window.finish();
      counted = (counted ?? 0) + totals.counted;
      late += totals.late;
    }
    reply = { type: 'finished', delivered, counted, late, applied: applied.percentiles() };
  }
  port.postMessage(reply);
});
// Loaded and compiled: the run's clock may start.
port.postMessage({ type: 'ready' } satisfies StandInReply);
