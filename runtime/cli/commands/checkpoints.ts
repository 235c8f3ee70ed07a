import { basename, resolve } from 'node:path';
import { storedWindowRows } from '../../../actors/partition/window-state-codec.ts';
import { listPartitions, type PartitionSummary, rollBack } from '../../../state/index.ts';
import { CliArgumentError } from '../../errors.ts';
import { loadTopology } from '../../topology/load-topology.ts';
import { parseCommandArgs } from '../args.ts';

/** `sluice checkpoints`: shows partition checkpoints and snapshots, and rolls a partition back. */

export const summary = 'list or inspect partition checkpoints and snapshots; roll a partition back';

export const usage = `Usage: sluice checkpoints list <topology.yaml> [--state-dir DIR] [--source S]
       sluice checkpoints inspect <topology.yaml> [--state-dir DIR] [--source S] [--partition P]
       sluice checkpoints restore-from <topology.yaml> --source S --partition P --snapshot FILE [--state-dir DIR]

list          one line per partition: checkpoint id and time, source position,
              watermark, window rows (one per window and key, or per session),
              stored entries and their bytes, bytes on disk, snapshots (valid/all)
inspect       the full checkpoint record, rows, entries and stored bytes per
              namespace and every snapshot with its verification result
restore-from  rolls one partition back to a snapshot (a file name from inspect, or
              a path). Newer snapshots move to snapshots/rolled-back/. The pipeline
              must be stopped: a running partition holds its database lock.

The state folder is --state-dir, else the topology's state.dir, else .sluice/<name>
beside the topology file. Exit code 0 on success, 1 on failure, 2 on bad arguments.`;

const ACTIONS = ['list', 'inspect', 'restore-from'] as const;

export async function run(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommandArgs('checkpoints', argv, {
    required: ['action', 'topology'],
    options: {
      'state-dir': { type: 'string' },
      source: { type: 'string' },
      partition: { type: 'string' },
      snapshot: { type: 'string' },
    },
  });
  const action = positionals.action;
  if (!(ACTIONS as readonly string[]).includes(action)) {
    throw new CliArgumentError('checkpoints', `unknown action '${action}'; expected ${ACTIONS.join(', ')}`);
  }
  const source = options.source as string | undefined;
  const partition = options.partition as string | undefined;
  const snapshot = options.snapshot as string | undefined;
  if (
    action === 'restore-from' &&
    (source === undefined || partition === undefined || snapshot === undefined)
  ) {
    throw new CliArgumentError('checkpoints', 'restore-from needs --source, --partition and --snapshot');
  }
  const stateDir = await resolveStateDir(positionals.topology, options['state-dir'] as string | undefined);

  if (
    action === 'restore-from' &&
    source !== undefined &&
    partition !== undefined &&
    snapshot !== undefined
  ) {
    const result = await rollBack(stateDir, source, partition, snapshot);
    const from = result.previous === null ? 'an unreadable database' : `checkpoint ${result.previous.id}`;
    process.stdout.write(
      `${source}/${partition}: rolled back from ${from} to checkpoint ${result.checkpoint.id} ` +
        `(${time(result.checkpoint.createdAt)}, position ${json(result.checkpoint.sourcePosition)})\n`,
    );
    for (const file of result.setAside) process.stdout.write(`  set aside ${file}\n`);
    return 0;
  }

  const partitions = (await listPartitions(stateDir, storedWindowRows)).filter(
    (summary) =>
      (source === undefined || summary.source === source) &&
      (partition === undefined || summary.partition === partition),
  );
  if (partitions.length === 0) {
    process.stdout.write(`no partition state under ${stateDir}\n`);
    return 0;
  }
  for (const summary of partitions) {
    process.stdout.write(action === 'list' ? `${listLine(summary)}\n` : inspectText(summary));
  }
  return partitions.some((summary) => summary.status === 'unreadable') ? 1 : 0;
}

async function resolveStateDir(topologyFile: string, override: string | undefined): Promise<string> {
  if (override !== undefined) return resolve(override);
  return (await loadTopology(topologyFile)).state.dir;
}

function listLine(summary: PartitionSummary): string {
  const name = `${summary.source}/${summary.partition}`;
  const snapshots = `snapshots ${summary.snapshots.filter((info) => info.valid).length}/${summary.snapshots.length}`;
  const checkpoint = summary.checkpoint;
  if (summary.status !== 'ok' || checkpoint === null) {
    const state = summary.status === 'ok' ? 'no checkpoint yet' : summary.status;
    return `${name}  ${state}  ${bytes(summary.databaseBytes)}  ${snapshots}`;
  }
  const details = Object.values(summary.details);
  const rows = details.reduce((total, detail) => total + (detail.rows ?? 0), 0);
  const entries = details.reduce((total, detail) => total + detail.entries, 0);
  const stored = details.reduce((total, detail) => total + detail.bytes, 0);
  return [
    name,
    `checkpoint ${checkpoint.id}`,
    time(checkpoint.createdAt),
    `position ${json(checkpoint.sourcePosition)}`,
    `watermark ${checkpoint.watermark === null ? '-' : time(checkpoint.watermark)}`,
    `rows ${rows}`,
    `entries ${entries} (${bytes(stored)})`,
    `disk ${bytes(summary.databaseBytes)}`,
    snapshots,
  ].join('  ');
}

function inspectText(summary: PartitionSummary): string {
  const lines = [
    `${summary.source}/${summary.partition}  (${summary.dir})`,
    `  status      ${summary.status}`,
  ];
  if (summary.reason !== undefined) lines.push(`  reason      ${summary.reason}`);
  const checkpoint = summary.checkpoint;
  if (checkpoint !== null) {
    lines.push(
      `  checkpoint  ${checkpoint.id} at ${time(checkpoint.createdAt)}`,
      `  position    ${json(checkpoint.sourcePosition)}`,
      `  watermark   ${checkpoint.watermark === null ? '-' : `${time(checkpoint.watermark)} (${checkpoint.watermark})`}`,
      `  sinks       ${json(checkpoint.sinkPositions)}`,
      `  emitted     ${json(checkpoint.emitted)}`,
      `  meta        ${json(checkpoint.meta)}`,
    );
  }
  lines.push(`  database    ${bytes(summary.databaseBytes)}`);
  for (const [namespace, detail] of Object.entries(summary.details)) {
    const rows = detail.rows === null ? '' : `${detail.rows} rows, `;
    lines.push(`  namespace   ${namespace}: ${rows}${detail.entries} entries, ${bytes(detail.bytes)}`);
  }
  for (const info of summary.snapshots) {
    const detail = info.valid
      ? `checkpoint ${info.id}, ${time(info.createdAt ?? 0)}, ${info.entries} entries, ${bytes(info.bytes)}`
      : `INVALID: ${info.reason}`;
    lines.push(`  snapshot    ${basename(info.file)}  ${detail}`);
  }
  return `${lines.join('\n')}\n`;
}

function time(ms: number): string {
  return new Date(ms).toISOString();
}

function json(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function bytes(count: number): string {
  if (count < 1024) return `${count} B`;
  if (count < 1024 * 1024) return `${(count / 1024).toFixed(1)} KiB`;
  return `${(count / 1024 / 1024).toFixed(1)} MiB`;
}
