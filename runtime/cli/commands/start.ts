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
at once. A graceful stop that outlasts shutdown.timeout exits 1 naming what did not
finish.`;

/** After a signal stop, handles kafkajs or a client may leave open must not keep the process alive. */
const LINGER_MS = 2000;

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
          try {
            await job.stop();
          } catch (error) {
            reject(error);
            throw error;
          }
          // Disposed only now: a second signal while stopping still exits at once.
          dispose();
          setTimeout(() => process.exit(process.exitCode ?? 0), LINGER_MS).unref();
          resolve();
        },
        {
          exitWhenDone: false,
          log,
          timeoutMs: topology.shutdown.timeoutMs,
          pending: () => job.stopPending ?? '',
        },
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
