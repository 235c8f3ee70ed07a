/**
 * The two-phase contract between a partition and a sink that holds the partition's rows
 * in a transaction until a checkpoint commits them (Kafka `transactional: true`):
 *
 * - `prepare`, before the checkpoint commits: everything the partition handed over is in
 *   the sink's open transaction (not yet visible).
 * - the partition records those rows in the checkpoint (LevelDB, atomically with state).
 * - `commit`, after the checkpoint is durable: the sink commits the transaction.
 * - `recover`, when the partition starts from a checkpoint: the sink fences whatever a
 *   predecessor left open and makes sure the rows the checkpoint recorded are committed
 *   exactly once (it can tell whether their transaction committed).
 *
 * A sink answers every hook with null (done) or the reason it refuses (its producer failed,
 * or it never recovered this partition): the partition then fails and restarts from its
 * last checkpoint, which re-runs `recover`. A refusal is an answer, not a failure of the
 * sink, so the sink's other partitions carry on.
 */
import { SluiceError } from '../../runtime/errors.ts';

/** The emit channel of the hooks; the job turns an emit into `sink.ask(hook.kind, hook)`. */
export const SINK_HOOK_CHANNEL = 'sink-hook';

export type SinkHook =
  | {
      kind: 'recover';
      sink: string;
      /** `<source>/<partition>`, as in `WriteOrigin`. */
      partition: string;
      /** The restored checkpoint; 0 when there is none. */
      checkpoint: number;
      /** The rows (JSON lines) that checkpoint recorded as handed to the sink; null when none. */
      pending: string | null;
    }
  | { kind: 'prepare'; sink: string; partition: string }
  | { kind: 'commit'; sink: string; partition: string; checkpoint: number };

/** null: done; a string: refused, with the reason. */
export type SinkHookReply = string | null;

/** A sink refused a hook; the partition fails and its supervisor restarts it from its checkpoint. */
export function sinkHookRefused(hook: SinkHook, reason: string): SluiceError {
  return new SluiceError(
    'SLUICE_ERR_SINK_HOOK_REFUSED',
    `sink ${hook.sink} refused ${hook.kind} for partition ${hook.partition}: ${reason}`,
    { retriable: true },
  );
}
