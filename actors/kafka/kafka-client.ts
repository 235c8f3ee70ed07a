/**
 * The one place a kafkajs client is built: brokers, retry policy and kafkajs's own log
 * lines routed into the sluice logger (kafkajs's errors become warnings: it retries them
 * itself; the source decides what is fatal). The last kafkajs error is kept so that a
 * fatal "broker unreachable" message can say what actually failed. It also installs, once,
 * the LZ4 codec and the corrected read_committed filter (read-committed.ts).
 */
import kafkajs from 'kafkajs';
import type { Logger } from '../../runtime/logger.ts';
import { registerLz4Codec } from './lz4-codec.ts';
import { rawFetchSocketFactory } from './raw-record-batches.ts';
import { installReadCommittedFilter } from './read-committed.ts';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  log: Logger;
  /** Upper bound of kafkajs's backoff between retries. */
  maxRetryTimeMs?: number;
  /** How many times kafkajs retries an operation before giving up. */
  retries?: number;
  /** Fetched records reach the consumer as whole record batches (raw-record-batches.ts). */
  rawRecordBatches?: boolean;
}

export interface KafkaClient {
  kafka: kafkajs.Kafka;
  /** The last error kafkajs logged, '' while none. */
  lastError(): string;
}

export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  registerLz4Codec();
  installReadCommittedFilter();
  let lastError = '';
  const log = options.log.child({ component: 'kafkajs' });
  const logCreator = () => (entry: kafkajs.LogEntry) => {
    const { message, ...fields } = entry.log;
    if (typeof fields.error === 'string' && entry.level <= kafkajs.logLevel.WARN) lastError = fields.error;
    else if (entry.level <= kafkajs.logLevel.ERROR && !message.startsWith('Restarting')) lastError = message;
    if (entry.level <= kafkajs.logLevel.ERROR) {
      log.warn(message, { namespace: entry.namespace, error: fields.error, broker: fields.broker });
    } else if (entry.level === kafkajs.logLevel.WARN) {
      log.warn(message, { namespace: entry.namespace, error: fields.error });
    } else {
      log.debug(message, { namespace: entry.namespace });
    }
  };
  const kafka = new kafkajs.Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: kafkajs.logLevel.INFO,
    logCreator,
    ...(options.rawRecordBatches === true ? { socketFactory: rawFetchSocketFactory() } : {}),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: {
      initialRetryTime: 300,
      maxRetryTime: options.maxRetryTimeMs ?? 5000,
      retries: options.retries ?? 8,
    },
  });
  return { kafka, lastError: () => lastError };
}
