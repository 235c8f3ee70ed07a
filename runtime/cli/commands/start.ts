/**
 * `sluice start <topology>`: runs a topology until its input ends (bounded sources) or a
 * signal stops it. The CLI is the composition root: the one place in `runtime/` that
 * reaches up to `actors/` to assemble a job.
 */
import { Job } from '../../../actors/job/job.ts';
import { type AdminServer, startAdminServer } from '../../admin-server.ts';
import { CliArgumentError } from '../../errors.ts';
import { createLogger } from '../../logger.ts';
import { Metrics } from '../../metrics.ts';
import { onShutdownSignal } from '../../shutdown.ts';
import { StatusLine } from '../../status-line.ts';
import { loadTopology } from '../../topology/load-topology.ts';

export const summary = 'Run a topology until its input ends or a signal stops it.';
export const usage = `Usage: sluice start <topology.yaml>

Runs the sources, windows and sinks of a topology file. A topology whose sources are
all bounded (file, generator with count) exits 0 once every window has fired and the
sinks are flushed. Otherwise it runs until SIGINT/SIGTERM: the first signal stops the
sources, drains the mailboxes and flushes the sinks, then exits 0; a second one exits
at once.`;

/** Waits for `promise`, but no longer than `ms`; rejects with `message` on time-out. */
function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function run(argv: string[]): Promise<number> {
  const [file, ...rest] = argv;
  if (!file) throw new CliArgumentError('start', 'needs a topology file: sluice start <topology.yaml>');
  if (rest.length > 0)
    throw new CliArgumentError('start', `takes one topology file, got also: ${rest.join(' ')}`);
  const topology = await loadTopology(file);
  const log = createLogger().child({ job: topology.name });
  const metrics = new Metrics();
  const job = await Job.start(topology, { metrics, log });
  let admin: AdminServer | null = null;
  const status = topology.status ? new StatusLine() : null;
  try {
    if (topology.admin) {
      admin = await startAdminServer({ ...topology.admin, metrics, isReady: () => true });
      log.info('admin server listening', { url: `http://${topology.admin.host}:${admin.port}/metrics` });
    }
    status?.start(metrics);
    const stopped = new Promise<void>((resolve, reject) => {
      const dispose = onShutdownSignal(
        async () => {
          await within(job.stop(), topology.shutdown.timeoutMs, 'graceful shutdown timed out');
          dispose();
          resolve();
        },
        { exitWhenDone: false, log },
      );
      job.finished.then(
        async () => {
          await job.stop();
          dispose();
          resolve();
        },
        (error) => {
          dispose();
          reject(error);
        },
      );
    });
    await stopped;
    return 0;
  } catch (error) {
    await job.terminate();
    throw error;
  } finally {
    status?.stop();
    await admin?.close();
  }
}
