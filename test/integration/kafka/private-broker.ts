/**
 * A Kafka broker of the test's own (KRaft, single node, free ports, data in a temp dir),
 * started from the jars `deploy/local/services up kafka` installed. Fault tests kill and
 * restart it; the shared broker on 9092 is never touched.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const libs = join(root, 'deploy/local/.cache/kafka/libs');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class PrivateBroker {
  readonly dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-'));
  #process: ChildProcess | null = null;
  #props = '';
  #java: string[] = [];
  port = 0;

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (error) {
      await this.destroy();
      throw error;
    }
  }

  async #start(): Promise<void> {
    this.port = await freePort();
    const controller = await freePort();
    const base = readFileSync(join(root, 'deploy/local/kafka/server.properties'), 'utf8')
      .split('\n')
      .filter((line) => !/^(listeners|advertised\.listeners|controller\.quorum\.voters)=/.test(line));
    this.#props = join(this.dir, 'server.properties');
    writeFileSync(
      this.#props,
      [
        ...base,
        `listeners=PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${controller}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${this.port}`,
        `controller.quorum.voters=1@127.0.0.1:${controller}`,
        `log.dirs=${join(this.dir, 'data')}`,
      ].join('\n'),
    );
    this.#java = [
      '-Xms128m',
      '-Xmx512m',
      '-XX:+UseSerialGC',
      `-Dlog4j.configuration=file:${join(root, 'deploy/local/kafka/log4j.properties')}`,
      '-cp',
      `${libs}/*`,
    ];
    const id = execFileSync('java', [...this.#java, 'kafka.tools.StorageTool', 'random-uuid'])
      .toString()
      .trim()
      .split('\n')
      .pop() as string;
    execFileSync('java', [...this.#java, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', this.#props], {
      stdio: 'ignore',
    });
    await this.restart();
  }

  /** Starts the broker process (again, on the same ports and data) and waits until it answers. */
  async restart(): Promise<void> {
    const log = openSync(join(this.dir, 'kafka.log'), 'a');
    this.#process = spawn('java', [...this.#java, 'kafka.Kafka', this.#props], {
      stdio: ['ignore', log, log],
    });
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      if (await this.#answers()) return;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    throw new Error(`private Kafka on ${this.address} did not start; see ${join(this.dir, 'kafka.log')}`);
  }

  async #answers(): Promise<boolean> {
    const admin = new kafkajs.Kafka({
      brokers: [this.address],
      logLevel: kafkajs.logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 500,
    }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return true;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** kill -9 of the broker this fixture started. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.#process = null;
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}
