/**
 * The Node flags every sluice process starts with. Each launcher passes them on the
 * command line, since V8 reads them before any code runs: the `sluice` shebang
 * (runtime/cli/bin.js), `npm run demo`, the container's entrypoint
 * (deploy/compose/Dockerfile), the test helper that starts `sluice` and the bench's
 * scenario processes. test/unit/cli/node-flags.test.ts keeps them in step.
 *
 * - `--v8-pool-size=0`: V8's background threads (concurrent marking, parallel scavenges,
 *   compilation) sized to the machine, one fewer than its cores, instead of Node's fixed
 *   4. On a 2-core machine 4 helper threads beside the event loop, the partition workers
 *   and the libuv pool made the garbage collector's pauses the tail of the gateway's ack
 *   latency: ack p99 at 100K events/s offered 4.4–9.1 ms with 4 helpers against
 *   3.3–5.1 ms with one, in alternated runs of the gateway bench (bench/results/notes/
 *   gateway.md), and no loss of throughput there or in the file-json bench.
 */
export const NODE_FLAGS: readonly string[] = ['--v8-pool-size=0'];
