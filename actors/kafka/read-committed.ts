/**
 * Correct read_committed filtering for every kafkajs consumer in the process.
 *
 * A fetch at read_committed returns records up to the last stable offset plus the list of
 * aborted transactions (producer id, first offset) overlapping them; the client must drop
 * the data records of those transactions. kafkajs 2.2.4 (src/consumer/filterAbortedMessages.js)
 * enters at most one aborted transaction per record, in list order, so when several began
 * before the first record of a fetch — producers whose transactions interleave, as the
 * transactional Kafka sink's per-partition producers do, with a fetch that starts in the
 * middle — the later producers' aborted records pass as if committed.
 *
 * The fix wraps the decoding of Fetch responses (v4 and later, the versions that carry the
 * list) and filters as the Java client does (Fetcher): aborted transactions in order of
 * first offset; at each record batch, every transaction that began at or before the batch's
 * last offset marks its producer aborted; a transactional data batch of a marked producer
 * is dropped; an ABORT control batch of a marked producer ends it. Aborted records are not
 * removed but flagged as control records, which kafkajs never hands to the application yet
 * still counts for the batch's last offset, so the consumer moves past them; the list is
 * then emptied so kafkajs's own filter has nothing left to get wrong.
 */
import { createRequire } from 'node:module';

/** What the filter reads of a fetched kafkajs message (a record, or a record batch's stand-in). */
export interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: {
    firstOffset: string;
    lastOffsetDelta: number;
    producerId: string;
    inTransaction: boolean;
    isControlBatch: boolean;
  };
}

export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

interface FetchedPartition {
  abortedTransactions?: AbortedTransaction[];
  messages: FetchedMessage[];
}

interface FetchResponse {
  responses: Array<{ partitions: FetchedPartition[] }>;
}

/** Fetch response versions whose partitions carry `abortedTransactions`. */
const VERSIONS_WITH_ABORTED = [4, 5, 6, 7, 8, 9, 10, 11];

let installed = false;

/** Installs the filter into kafkajs's Fetch response decoders, once per process. */
export function installReadCommittedFilter(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  for (const version of VERSIONS_WITH_ABORTED) {
    const response = require(`kafkajs/src/protocol/requests/fetch/v${version}/response.js`) as {
      decode: (raw: Buffer) => Promise<FetchResponse>;
    };
    const decode = response.decode;
    response.decode = async (raw) => {
      const decoded = await decode(raw);
      for (const topic of decoded.responses) {
        for (const partition of topic.partitions) {
          const aborted = partition.abortedTransactions;
          if (aborted === undefined || aborted.length === 0) continue;
          flagAbortedRecords(partition.messages, aborted);
          partition.abortedTransactions = [];
        }
      }
      return decoded;
    };
  }
}

/** An ABORT control record: its key is version (int16) then type (int16), 0 for ABORT. */
function isAbortMarker(message: FetchedMessage): boolean {
  const key = message.key;
  return key !== null && key.length >= 4 && key.readInt16BE(2) === 0;
}

/**
 * Flags as control records the data records of `messages` (one partition's fetch, in
 * offset order) that belong to the aborted transactions `aborted`. Returns how many.
 */
export function flagAbortedRecords(
  messages: FetchedMessage[],
  aborted: readonly AbortedTransaction[],
): number {
  const pending = [...aborted].sort((a, b) => compareOffsets(a.firstOffset, b.firstOffset));
  const abortedProducers = new Set<string>();
  let next = 0;
  let batch: FetchedMessage['batchContext'] | null = null;
  let flagged = 0;
  for (const message of messages) {
    const context = message.batchContext;
    if (context !== batch) {
      batch = context;
      const lastOffset = BigInt(context.firstOffset) + BigInt(context.lastOffsetDelta);
      while (next < pending.length && BigInt(pending[next].firstOffset) <= lastOffset) {
        abortedProducers.add(pending[next].producerId);
        next++;
      }
    }
    if (context.isControlBatch) {
      if (isAbortMarker(message)) abortedProducers.delete(context.producerId);
    } else if (context.inTransaction && abortedProducers.has(context.producerId)) {
      message.isControlRecord = true;
      flagged++;
    }
  }
  return flagged;
}

function compareOffsets(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}
