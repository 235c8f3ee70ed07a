/**
 * Freezes a private broker's JVM (SIGSTOP): a broker that keeps its connections open and
 * never answers, the way a hung or partitioned broker looks to a client.
 */
import { execFileSync } from 'node:child_process';
import type { PrivateBroker } from './private-broker.ts';

/** Stops the broker's process and returns the function that lets it run again. */
export function freezeBroker(broker: PrivateBroker): () => void {
  const found = execFileSync('pgrep', ['-f', `${broker.dir}/server.properties`]).toString();
  const pid = Number(found.trim().split('\n')[0]);
  process.kill(pid, 'SIGSTOP');
  return () => process.kill(pid, 'SIGCONT');
}
