import uws from 'uWebSockets.js';
import type { AccessControl } from './access-control.ts';
import type { BatchIngester } from './batch-ingester.ts';
import {
  GATEWAY_REFUSALS,
  type GatewayRefusalCode,
  type GatewayReply,
  HTTP_STATUS_TEXT,
  type RefusalReply,
  refusal,
} from './gateway-errors.ts';
import { batchIdOf, isFrame } from './ingest-payload.ts';
import { RateLimiter } from './rate-limiter.ts';

/**
 * The network face of the gateway on one uWebSockets.js app: WebSocket at `/ws`,
 * `POST /ingest`, `GET /healthz`. Authentication and the Origin check run in the
 * upgrade, before a socket exists; HTTP checks them per request.
 *
 * uWebSockets.js rules kept here: every HTTP handler either answers synchronously or
 * registers `onAborted` first; message and body ArrayBuffers are copied before any
 * await (uWS neuters them when the handler returns); a socket is never touched after
 * its `close` handler ran (`closed` in its state) nor a response after abort.
 *
 * Bounds per WebSocket: `inflightBatches` batches awaiting their ack (more are refused
 * with INFLIGHT_LIMIT), `maxBackpressure` bytes of unsent replies (a client that does
 * not read its acks is disconnected, so its replies cannot pile up), `maxPayload`
 * per message (close 1009), `idleTimeout`.
 *
 * Threading model: main thread. Life cycle: `listen` → serving → `close` (stops
 * listening, ends every WebSocket with 1001).
 */
export interface GatewayServerOptions {
  host: string;
  port: number;
  ingester: BatchIngester;
  access: AccessControl;
  maxPayload: number;
  inflightBatches: number;
  idleTimeoutMs: number;
  eventsPerSecond: number;
  /** Bytes of unsent replies a WebSocket may hold before it is closed. */
  maxBackpressure?: number;
  health: () => Record<string, unknown>;
  onConnection?: (open: number) => void;
}

interface SocketState {
  inflight: number;
  closed: boolean;
  /** Replies waiting for this turn's send (JSON text), and the close that follows them. */
  replies: string[];
  endWith: { code: number; reason: string } | null;
  /** Refusals for bad input in a row; too many and the connection is closed. */
  strikes: number;
  limiter: RateLimiter;
}

/** Consecutive invalid messages after which a WebSocket is closed with 1008. */
const MAX_STRIKES = 32;

export class GatewayServer {
  readonly #options: GatewayServerOptions;
  readonly #app: uws.TemplatedApp;
  readonly #sockets = new Set<uws.WebSocket<SocketState>>();
  readonly #limiters = new Map<string, RateLimiter>();
  /** Sockets with replies waiting; sent together once per turn of the event loop. */
  readonly #replying = new Set<uws.WebSocket<SocketState>>();
  #replySend: NodeJS.Immediate | null = null;
  #listenSocket: uws.us_listen_socket | null = null;
  #port = 0;

  constructor(options: GatewayServerOptions) {
    this.#options = options;
    this.#app = uws.App();
    this.#routes();
  }

  get port(): number {
    return this.#port;
  }

  get connections(): number {
    return this.#sockets.size;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#app.listen(this.#options.host, this.#options.port, (socket) => {
        if (socket === false) {
          reject(new Error(`gateway: cannot listen on ${this.#options.host}:${this.#options.port}`));
          return;
        }
        this.#listenSocket = socket;
        this.#port = uws.us_socket_local_port(socket);
        resolve(this.#port);
      });
    });
  }

  /** Stops accepting connections; open ones keep being served (their acks can still go out). */
  stopListening(): void {
    if (this.#listenSocket !== null) uws.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = null;
  }

  /** Sends the replies still queued, ends every WebSocket with 1001 and closes every HTTP connection. */
  close(): void {
    this.stopListening();
    this.#sendQueuedReplies();
    for (const ws of [...this.#sockets]) ws.end(1001, 'gateway stopping');
    // Present at runtime in this build though missing from its type declarations.
    (this.#app as unknown as { close(): void }).close();
  }

  #routes(): void {
    const { access, maxPayload } = this.#options;
    this.#app.ws<SocketState>('/ws', {
      // uWS drops a connection over its own limit without a close frame; up to twice the
      // limit the message arrives and is refused here with a proper 1009.
      maxPayloadLength: maxPayload * 2 + 1024,
      idleTimeout: idleSeconds(this.#options.idleTimeoutMs),
      maxBackpressure: this.#options.maxBackpressure ?? 1024 * 1024,
      closeOnBackpressureLimit: 1,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const authorization = req.getHeader('authorization');
        const origin = req.getHeader('origin');
        const key = req.getHeader('sec-websocket-key');
        const protocol = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        const refused = admission(access, authorization, origin);
        if (refused !== null) {
          respond(res, refused);
          return;
        }
        const state: SocketState = {
          inflight: 0,
          closed: false,
          replies: [],
          endWith: null,
          strikes: 0,
          limiter: new RateLimiter(this.#options.eventsPerSecond),
        };
        res.upgrade(state, key, protocol, extensions, context);
      },
      open: (ws) => {
        this.#sockets.add(ws);
        this.#options.onConnection?.(this.#sockets.size);
      },
      message: (ws, message, isBinary) => {
        if (message.byteLength > maxPayload) {
          ws.end(1009, `message over ${maxPayload} bytes`);
          return;
        }
        // Copied (a frame) or decoded (JSON text) now: uWS reuses `message` once this returns.
        this.#onMessage(
          ws,
          isBinary ? Buffer.copyBytesFrom(new Uint8Array(message)) : Buffer.from(message).toString('utf8'),
          isBinary,
        );
      },
      close: (ws) => {
        ws.getUserData().closed = true;
        this.#sockets.delete(ws);
        this.#replying.delete(ws);
        this.#options.onConnection?.(this.#sockets.size);
      },
    });
    this.#app.post('/ingest', (res, req) => this.#onIngest(res, req));
    this.#app.get('/healthz', (res) => {
      res
        .writeHeader('content-type', 'application/json')
        .end(JSON.stringify({ status: 'ok', ...this.#options.health() }));
    });
    this.#app.any('/*', (res) =>
      respond(res, refusal('NOT_FOUND', null, 'routes: GET /healthz, POST /ingest, /ws')),
    );
  }

  #onMessage(ws: uws.WebSocket<SocketState>, message: Buffer | string, binary: boolean): void {
    const state = ws.getUserData();
    if (state.inflight >= this.#options.inflightBatches) {
      ws.send(
        JSON.stringify(
          refusal(
            'INFLIGHT_LIMIT',
            batchIdOf(message, binary),
            `more than ${this.#options.inflightBatches} batches awaiting their ack`,
          ),
        ),
      );
      return;
    }
    state.inflight++;
    void this.#options.ingester
      .ingest(message, binary, (events) => state.limiter.admit(events))
      .then((reply) => {
        state.inflight--;
        if (state.closed || state.endWith !== null) return;
        state.replies.push(JSON.stringify(reply));
        this.#queueReplies(ws);
        if (!('error' in reply)) {
          state.strikes = 0;
          return;
        }
        if (reply.error === 'PAYLOAD_INVALID' || reply.error === 'EVENT_INVALID') state.strikes++;
        const close = GATEWAY_REFUSALS[reply.error].close;
        if (close !== null) state.endWith = { code: close, reason: reply.message.slice(0, 120) };
        else if (state.strikes >= MAX_STRIKES)
          state.endWith = { code: 1008, reason: 'too many invalid messages' };
      });
  }

  /**
   * Acks resolve together (a group commit answers every batch it covered), so the replies
   * of a turn go out once it is over: per socket, all in one corked write — one system
   * call instead of one per reply.
   */
  #queueReplies(ws: uws.WebSocket<SocketState>): void {
    this.#replying.add(ws);
    this.#replySend ??= setImmediate(() => this.#sendQueuedReplies());
  }

  #sendQueuedReplies(): void {
    if (this.#replySend !== null) clearImmediate(this.#replySend);
    this.#replySend = null;
    const sockets = [...this.#replying];
    this.#replying.clear();
    for (const socket of sockets) sendReplies(socket);
  }

  #onIngest(res: uws.HttpResponse, req: uws.HttpRequest): void {
    const { access, maxPayload } = this.#options;
    const authorization = req.getHeader('authorization');
    const origin = req.getHeader('origin');
    const contentType = req.getHeader('content-type');
    const declared = Number(req.getHeader('content-length') || '0');
    const refused = admission(access, authorization, origin);
    if (refused !== null) {
      respond(res, refused);
      return;
    }
    if (declared > maxPayload) {
      respond(res, refusal('PAYLOAD_TOO_LARGE', null, `body over ${maxPayload} bytes`), true);
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const chunks: Buffer[] = [];
    let received = 0;
    res.onData((chunk, isLast) => {
      if (aborted) return;
      received += chunk.byteLength;
      if (received > maxPayload) {
        aborted = true;
        res.cork(() =>
          respond(res, refusal('PAYLOAD_TOO_LARGE', null, `body over ${maxPayload} bytes`), true),
        );
        return;
      }
      chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!isLast) return;
      const body = Buffer.concat(chunks);
      const binary = contentType.startsWith('application/octet-stream') ? true : isFrame(body, null);
      const limiter = this.#limiter(authorization);
      void this.#options.ingester
        .ingest(body, binary, (events) => limiter.admit(events))
        .then((reply) => {
          if (!aborted) res.cork(() => respond(res, reply));
        });
    });
  }

  /** HTTP rate limits are per token (per client identity), not per TCP connection. */
  #limiter(authorization: string): RateLimiter {
    let limiter = this.#limiters.get(authorization);
    if (limiter === undefined) {
      if (this.#limiters.size > 10_000) this.#limiters.clear();
      limiter = new RateLimiter(this.#options.eventsPerSecond);
      this.#limiters.set(authorization, limiter);
    }
    return limiter;
  }
}

function sendReplies(ws: uws.WebSocket<SocketState>): void {
  const state = ws.getUserData();
  const replies = state.replies;
  state.replies = [];
  ws.cork(() => {
    // Over maxBackpressure uWS closes the socket inside `send`: nothing after that.
    for (const reply of replies) if (!state.closed) ws.send(reply);
  });
  if (state.endWith !== null && !state.closed) ws.end(state.endWith.code, state.endWith.reason);
}

/** Whether a request may in: its bearer token, then its Origin. */
function admission(access: AccessControl, authorization: string, origin: string): RefusalReply | null {
  if (!access.authorized(authorization))
    return refusal('UNAUTHORIZED', null, 'a valid bearer token is required');
  if (!access.originAllowed(origin))
    return refusal('ORIGIN_FORBIDDEN', null, `origin ${origin} is not allowed`);
  return null;
}

function respond(res: uws.HttpResponse, reply: GatewayReply, closeConnection = false): void {
  const status = 'error' in reply ? GATEWAY_REFUSALS[reply.error as GatewayRefusalCode].status : 200;
  res
    .writeStatus(HTTP_STATUS_TEXT[status] ?? String(status))
    .writeHeader('content-type', 'application/json')
    .end(JSON.stringify(reply), closeConnection);
}

/** uWS counts idle time in seconds with a 4 s granularity; 0 disables it. */
function idleSeconds(ms: number): number {
  if (ms === 0) return 0;
  return Math.max(8, Math.round(ms / 1000 / 4) * 4);
}
