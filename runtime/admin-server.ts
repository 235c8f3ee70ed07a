import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Metrics } from './metrics.ts';

export interface AdminServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  metrics: Metrics;
  /** True once sources are running; drives `/readyz`. */
  isReady(): boolean;
}

export interface AdminServer {
  /** The port actually bound. */
  port: number;
  close(): Promise<void>;
}

/**
 * The HTTP admin endpoint: `GET /metrics` (Prometheus text), `/healthz` (200 while the
 * process runs), `/readyz` (200 once ready, else 503); 404 for other paths, 405 for other
 * methods. Runs on the main thread next to the `Metrics` registry it serves.
 */
export function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server = createServer((request, response) => {
    route(options, request, response).catch((error: unknown) => {
      if (!response.headersSent) respond(response, 500, `metrics collection failed: ${String(error)}\n`);
      else response.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function route(options: AdminServerOptions, request: IncomingMessage, response: ServerResponse) {
  const path = new URL(request.url ?? '/', 'http://admin').pathname;
  const known = path === '/metrics' || path === '/healthz' || path === '/readyz';
  if (!known) return respond(response, 404, 'not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return respond(response, 405, 'method not allowed\n');
  }
  if (path === '/healthz') return respond(response, 200, 'ok\n');
  if (path === '/readyz')
    return options.isReady() ? respond(response, 200, 'ready\n') : respond(response, 503, 'not ready\n');
  const body = await options.metrics.text();
  respond(response, 200, body, options.metrics.contentType);
}

function respond(
  response: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
) {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
