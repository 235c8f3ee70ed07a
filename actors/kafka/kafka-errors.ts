import { SluiceError } from '../../runtime/errors.ts';

/**
 * The Kafka layer's error catalogue. Callers decide on `code` and `retriable`; messages
 * are for people. Bad records are not errors here: they are decode failures (data).
 */
export const KAFKA_ERRORS = {
  /** No broker answered for longer than the source's `brokerTimeoutMs`. */
  SLUICE_ERR_KAFKA_BROKER_UNREACHABLE: {
    retriable: false,
    message: (brokers: string, waitedMs: number, lastError: string) =>
      `Kafka brokers ${brokers} unreachable for ${Math.round(waitedMs / 1000)} s (limit exceeded); last error: ${lastError}`,
  },
  /** The kafkajs consumer stopped on an error it will not restart from. */
  SLUICE_ERR_KAFKA_CONSUMER_CRASHED: {
    retriable: false,
    message: (group: string, reason: string) => `Kafka consumer of group ${group} crashed: ${reason}`,
  },
  /** The topic does not exist (or has no partitions) on the cluster. */
  SLUICE_ERR_KAFKA_TOPIC_MISSING: {
    retriable: false,
    message: (topic: string, reason: string) => `Kafka topic ${topic} is not available: ${reason}`,
  },
  /** A callback of the source's owner (onAssign, onRevoke, deliver, onPartitionEnd) failed. */
  SLUICE_ERR_KAFKA_OWNER_CALLBACK: {
    retriable: false,
    message: (callback: string, reason: string) => `Kafka source callback ${callback} failed: ${reason}`,
  },
  /** The producer could not write (after kafkajs's own retries). */
  SLUICE_ERR_KAFKA_PRODUCE_FAILED: {
    retriable: true,
    message: (topic: string, reason: string) => `producing to Kafka topic ${topic} failed: ${reason}`,
  },
} as const;

export type KafkaErrorCode = keyof typeof KAFKA_ERRORS;

type TemplateArgs<Code extends KafkaErrorCode> = Parameters<(typeof KAFKA_ERRORS)[Code]['message']>;

export class KafkaError extends SluiceError {}

/** `kafkaError('SLUICE_ERR_KAFKA_TOPIC_MISSING', ['clicks', 'unknown topic'])`. */
export function kafkaError<Code extends KafkaErrorCode>(
  code: Code,
  args: TemplateArgs<Code>,
  cause?: unknown,
): KafkaError {
  const entry = KAFKA_ERRORS[code];
  const message = (entry.message as (...values: unknown[]) => string)(...args);
  return new KafkaError(code, message, { retriable: entry.retriable, cause });
}

/** The one-line text of any thrown value, for messages and logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
