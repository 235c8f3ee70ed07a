/**
 * Produces generator events as one JSON message per event through kcat (librdkafka), at
 * a fixed rate. kafkajs spends ~25 µs of CPU per small message, so on this 2-core machine
 * it cannot offer 50,000 JSON messages/s beside the engine it feeds; a librdkafka
 * producer in its own process can, as the producers in front of a real pipeline do.
 *
 * Keys go through librdkafka's `murmur2_random` partitioner (Java's default partitioner),
 * so each key lands on the partition `sluice produce` and sluice's sources use. The
 * events are the ones `produceEvents` would write (same generator, same options); the
 * schedule is the wall clock: event i is written once start + i / rate has passed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGenerator, type GeneratorOptions } from '../../actors/generator/index.ts';

export interface KcatProduceOptions {
  brokers: string[];
  topic: string;
  count: number;
  /**
   * Events per second on the wall clock: event i is written once `startTime` + i·1000/rate
   * has passed (and its event time follows the same schedule). 0: as fast as kcat takes them.
   */
  rate: number;
  /** The generator's options (keys, startTime, disorder…); key field `user_id`. */
  generator: GeneratorOptions & { startTime: number };
  /** How often due events are handed to kcat. Default 20 ms. */
  tickMs?: number;
  /** Ends production early (kcat flushes what it was given): a live stream stopped by its reader. */
  signal?: AbortSignal;
}

export interface KcatProduceResult {
  events: number;
  elapsedMs: number;
  eventsPerSecond: number;
}

/** Whether kcat is on the PATH (deploy/local/kafka.sh installs it). */
export async function kcatAvailable(): Promise<boolean> {
  const child = spawn('kcat', ['-V'], { stdio: 'ignore' });
  const [code] = (await Promise.race([once(child, 'exit'), once(child, 'error').then(() => [-1])])) as [
    number,
  ];
  return code === 0;
}

export async function produceJsonWithKcat(options: KcatProduceOptions): Promise<KcatProduceResult> {
  const kcat = spawn(
    'kcat',
    [
      '-P',
      '-b',
      options.brokers.join(','),
      '-t',
      options.topic,
      '-K',
      '\t',
      '-X',
      'partitioner=murmur2_random',
      '-X',
      'linger.ms=5',
      '-X',
      'acks=all',
      '-X',
      'enable.idempotence=true',
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  kcat.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  const exited = once(kcat, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  // A write after kcat died fails with EPIPE; the exit code below says why.
  kcat.stdin.on('error', () => {});
  exited.catch(() => {}); // a spawn failure rejects it; awaited below
  const { rate, count } = options;
  const startTime = options.generator.startTime;
  const generator = createGenerator(
    rate > 0 ? { ...options.generator, eventsPerSecond: rate } : options.generator,
  );
  const tickMs = options.tickMs ?? 20;
  const began = Date.now();
  let written = 0;
  try {
    while (written < count && !options.signal?.aborted) {
      const due =
        rate > 0
          ? Math.min(count, Math.floor(((Date.now() - startTime) * rate) / 1000) + 1)
          : Math.min(count, written + 10_000);
      if (due > written) {
        const { events } = generator.nextBatch(due - written);
        let text = '';
        for (const event of events) text += `${String(event.user_id)}\t${JSON.stringify(event)}\n`;
        written = due;
        // A full pipe means kcat is behind: wait for it rather than buffer without bound
        // (or for kcat to die: its exit code and stderr are reported below).
        if (!kcat.stdin.write(text)) await Promise.race([once(kcat.stdin, 'drain'), exited]);
        if (kcat.exitCode !== null || kcat.signalCode !== null) break;
      } else await sleep(tickMs);
    }
    kcat.stdin.end();
    const [code, signal] = await exited;
    if (code !== 0) throw new Error(`kcat exited with ${code ?? signal}: ${stderr.trim()}`);
  } finally {
    if (kcat.exitCode === null) kcat.kill('SIGKILL');
  }
  const elapsedMs = Date.now() - began;
  return { events: written, elapsedMs, eventsPerSecond: (written * 1000) / Math.max(1, elapsedMs) };
}
