import { SluiceError } from '../../runtime/errors.ts';

/**
 * The CDC layer's error catalogue. Callers decide on `code` and `retriable`; messages
 * are for people and say what to do.
 */
export const CDC_ERRORS = {
  /** The slot vanished while partitions hold checkpoints that depend on it. */
  SLUICE_ERR_CDC_SLOT_MISSING: {
    retriable: false,
    message: (slot: string) =>
      `replication slot ${slot} is gone but checkpoints refer to it: changes since the last checkpoint are lost. ` +
      'Not re-snapshotting silently: delete the source state (or pick a new slot name) to start over.',
  },
  /** The publication vanished while the slot exists. */
  SLUICE_ERR_CDC_PUBLICATION_MISSING: {
    retriable: false,
    message: (publication: string) =>
      `publication ${publication} is gone while its slot exists; re-create it (CREATE PUBLICATION ${publication} FOR TABLE ...) or start over`,
  },
  /** A restart found a snapshot that had begun but not finished. */
  SLUICE_ERR_CDC_SNAPSHOT_INTERRUPTED: {
    retriable: false,
    message: (table: string) =>
      `the initial snapshot of ${table} was interrupted; its exported snapshot cannot be resumed. ` +
      'Delete the source state and drop the slot to snapshot again.',
  },
  /** A listed table does not exist or has no primary key. */
  SLUICE_ERR_CDC_TABLE_INVALID: {
    retriable: false,
    message: (table: string, reason: string) => `CDC table ${table}: ${reason}`,
  },
  /** The replication stream failed (connection lost, server restart) and could not be resumed. */
  SLUICE_ERR_CDC_STREAM_FAILED: {
    retriable: true,
    message: (slot: string, reason: string) => `replication from slot ${slot} failed: ${reason}`,
  },
  /** Kafka did not take the published changes (after the producer's own retries). */
  SLUICE_ERR_CDC_PUBLISH_FAILED: {
    retriable: true,
    message: (topics: string, reason: string) =>
      `publishing changes to Kafka topic(s) ${topics} failed: ${reason}. Nothing unacknowledged is lost: a restart publishes again from the slot`,
  },
  /** A callback of the source's owner (deliver, resumeFrom) failed. */
  SLUICE_ERR_CDC_OWNER_CALLBACK: {
    retriable: false,
    message: (callback: string, reason: string) => `CDC source callback ${callback} failed: ${reason}`,
  },
} as const;

export type CdcErrorCode = keyof typeof CDC_ERRORS;

type TemplateArgs<Code extends CdcErrorCode> = Parameters<(typeof CDC_ERRORS)[Code]['message']>;

export class CdcError extends SluiceError {}

/** `cdcError('SLUICE_ERR_CDC_SLOT_MISSING', ['sluice_shop'])`. */
export function cdcError<Code extends CdcErrorCode>(
  code: Code,
  args: TemplateArgs<Code>,
  cause?: unknown,
): CdcError {
  const entry = CDC_ERRORS[code];
  const message = (entry.message as (...values: unknown[]) => string)(...args);
  return new CdcError(code, message, { retriable: entry.retriable, cause });
}
