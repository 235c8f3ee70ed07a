import { encodeFrame } from '../codecs/frame.ts';
import type { DecodeFailureRecord } from '../partition/partition-pipeline.ts';
import { FORWARD_DEAD_LETTER_HEADERS } from './forwarded-source.ts';
import { type RefusalReply, refusal } from './gateway-errors.ts';
import type { GatewayLog } from './gateway-log.ts';
import type { KafkaForward } from './kafka-forward.ts';
import { encodeLogBatch } from './log-batch.ts';

/**
 * Where an accepted client batch becomes durable before its ack: the gateway's own log
 * (the default) or a Kafka topic (`forward: kafka`). The ingester routes a batch by key
 * and hands its parts (events by partition) to `append`; once that resolves, every part
 * survives a crash. A rejection that is an `IngestRefusal` (gateway-errors.ts) answers the client with
 * its code; any other rejection is a failure of the target, answered UNAVAILABLE.
 *
 * Threading model: main thread only.
 */
export interface IngestTarget {
  readonly partitions: number;
  /** Null when a batch may be taken now, else the refusal to answer with. */
  admission(): RefusalReply | null;
  /** Makes a routed batch durable: its events by partition. All parts are admitted or none. */
  append(parts: ReadonlyMap<number, Record<string, unknown>[]>): Promise<void>;
  /** Keeps refused input (each failure holds its raw text) for the dead-letter output. */
  deadLetters(failures: DecodeFailureRecord[]): Promise<void>;
}

/**
 * The gateway log: each part is one log record; dead letters are one record of partition 0
 * holding the failures, so they reach the dead-letter output through the partition actor,
 * exactly once, in order. A log that cannot be written is fatal (`onFatal`): the process
 * can no longer keep its promise of durability.
 */
export function logTarget(log: GatewayLog, onFatal: (error: Error) => void): IngestTarget {
  const failed = (error: Error): never => {
    onFatal(error);
    throw error;
  };
  /** Appends each payload; resolves once all are durable (parts appended together share one commit). */
  const append = (records: ReadonlyArray<[partition: number, payload: Buffer]>): Promise<void> => {
    const durable = new Set<Promise<void>>();
    try {
      for (const [partition, payload] of records) durable.add(log.append(partition, payload).durable);
    } catch (error) {
      onFatal(error as Error);
      return Promise.reject(error);
    }
    const all = durable.size === 1 ? [...durable][0] : Promise.all(durable).then(ignore);
    return all.catch(failed);
  };
  return {
    partitions: log.partitions,
    admission: () =>
      log.hasRoom() ? null : refusal('GATEWAY_FULL', null, 'the gateway log is full; retry later'),
    append: (parts) =>
      append(
        Array.from(parts, ([partition, events]) => [partition, encodeLogBatch({ events, failures: [] })]),
      ),
    deadLetters: (failures) =>
      append([
        [
          0,
          encodeLogBatch({
            events: failures.map(() => null),
            failures: failures.map((failure, index) => [index, failure]),
          }),
        ],
      ]),
  };
}

function ignore(): void {}

/**
 * A Kafka topic: each part is one sluice frame record keyed by its first event's key,
 * and a batch's records are admitted together (never half a batch in the topic because
 * the pending limit was reached in its middle). All
 * events of a part share a partition, so the producer's murmur2 partitioner puts the
 * record on that partition, where the job's kafka source reads it. Refused input goes to
 * partition 0 as one record per failure, its gateway code and reason in the record's
 * headers (`FORWARD_DEAD_LETTER_HEADERS`), so it reaches the dead-letter output with
 * the gateway's reason and its topic, partition and offset.
 */
export function kafkaTarget(
  forward: Pick<KafkaForward, 'hasRoom' | 'pending' | 'send'>,
  partitions: number,
  keyOf: (event: Record<string, unknown>) => string,
): IngestTarget {
  return {
    partitions,
    admission: () =>
      forward.hasRoom()
        ? null
        : refusal('FORWARD_BUSY', null, `${forward.pending} records are waiting for Kafka; retry later`),
    append: (parts) =>
      forward.send(
        [...parts.values()].map((events) => ({ key: keyOf(events[0]), value: encodeFrame(events) })),
      ),
    deadLetters: (failures) =>
      forward.send(
        failures.map((failure) => ({
          key: null,
          partition: 0,
          value: Buffer.from(failure.raw, 'utf8'),
          headers: {
            [FORWARD_DEAD_LETTER_HEADERS.code]: failure.code,
            [FORWARD_DEAD_LETTER_HEADERS.reason]: failure.reason,
          },
        })),
      ),
  };
}
