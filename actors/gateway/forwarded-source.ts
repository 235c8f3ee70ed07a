import type { GatewaySourceConfig, KafkaSourceConfig } from '../../runtime/topology/topology-schema.ts';
import { DEAD_LETTER_HEADERS } from '../kafka/raw-record-batches.ts';

/**
 * How a job reads what a `forward: kafka` gateway wrote: the gateway source stands, in
 * the job, for two things in one process — the gateway (clients → Kafka, acked after
 * Kafka) and an implicit kafka source on the forward topic, under the gateway source's
 * name, whose partitions feed the windows and streams that name the gateway. Records are
 * sluice frames (one per partition a client batch touched), read from the earliest offset
 * by a consumer group that defaults to `sluice-<topology>-<source>`. Positions are Kafka
 * offsets, checkpointed like any kafka source's.
 */
export const FORWARD_FORMAT = 'frame' as const;

/**
 * Input the gateway refused travels the forward topic as one record per failure, on
 * partition 0, in the order it was refused: the value is the refused text (the invalid
 * event's JSON, or the client's payload — frames as base64 — cut at 64 KiB), and these
 * headers carry the gateway's own failure code and reason. A reader of the topic turns
 * such a record into a dead letter with that code and reason instead of decoding it (the
 * kafka source does, actors/kafka/decode-records.ts); without the headers it would report
 * why the value is not a frame.
 */
export const FORWARD_DEAD_LETTER_HEADERS = DEAD_LETTER_HEADERS;

/** The kafka source a forwarding gateway implies, or null for a gateway with its own log. */
export function forwardedKafkaSource(
  topologyName: string,
  sourceName: string,
  config: GatewaySourceConfig,
): KafkaSourceConfig | null {
  const forward = config.forward;
  if (forward === undefined) return null;
  return {
    type: 'kafka',
    brokers: forward.brokers,
    topic: forward.topic,
    group: forward.group ?? `sluice-${topologyName}-${sourceName}`,
    format: FORWARD_FORMAT,
    key: config.key,
    time: config.time,
    startFrom: 'earliest',
    brokerTimeoutMs: forward.brokerTimeoutMs,
    sessionTimeoutMs: forward.sessionTimeoutMs,
  };
}
