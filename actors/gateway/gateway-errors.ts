/**
 * The gateway's refusals: a stable code a client can switch on, the HTTP status of a
 * `POST /ingest` answer, and (for refusals that end a WebSocket) the close code. Bad
 * input is data — every refusal is an answer to the client, a counter and, where there
 * was input to keep, a dead letter — never an exception.
 */
export const GATEWAY_REFUSALS = {
  /** No bearer token, or one that is not in the configured set. */
  UNAUTHORIZED: { status: 401, close: null },
  /** The Origin header is not in `allowedOrigins`. */
  ORIGIN_FORBIDDEN: { status: 403, close: null },
  /** Message or body larger than `limits.maxPayload`. */
  PAYLOAD_TOO_LARGE: { status: 413, close: 1009 },
  /** Not JSON, not an event, array or `{id, events}`; or a bad sluice frame. */
  PAYLOAD_INVALID: { status: 400, close: null },
  /** An event without its key or with a missing/unreadable time. */
  EVENT_INVALID: { status: 400, close: null },
  /** More events per second than `limits.eventsPerSecond`. */
  RATE_LIMITED: { status: 429, close: null },
  /** More unacknowledged batches than `limits.inflightBatches`. */
  INFLIGHT_LIMIT: { status: 429, close: null },
  /** The log reached `log.maxBytes`: retry once checkpoints free space. */
  GATEWAY_FULL: { status: 503, close: 1013 },
  /** `forward`: more messages waiting for Kafka's ack than `forward.maxPending`; retry later. */
  FORWARD_BUSY: { status: 503, close: null },
  /**
   * `forward`: Kafka did not acknowledge within `forward.ackTimeout`, or refused the write.
   * The batch was not acknowledged; it may still land in the topic (a retry may duplicate it).
   */
  FORWARD_FAILED: { status: 503, close: null },
  /** The gateway is stopping, or the log failed to write. */
  UNAVAILABLE: { status: 503, close: 1011 },
  /** The client kept sending invalid messages. */
  PROTOCOL_ABUSE: { status: 400, close: 1008 },
  NOT_FOUND: { status: 404, close: null },
} as const;

export type GatewayRefusalCode = keyof typeof GATEWAY_REFUSALS;

/** The reply body of a refused batch: `{"error": code, "id": id, "message": ...}`. */
export interface RefusalReply {
  error: GatewayRefusalCode;
  id: string | null;
  message: string;
}

/** The reply body of a durable batch: `{"ack": id, "count": n}`. */
export interface AckReply {
  ack: string | null;
  count: number;
}

export type GatewayReply = AckReply | RefusalReply;

export function refusal(error: GatewayRefusalCode, id: string | null, message: string): RefusalReply {
  return { error, id, message };
}

/** A durable target (log, Kafka) refusing one batch with a stable code; not a failure of the process. */
export class IngestRefusal extends Error {
  readonly code: GatewayRefusalCode;

  constructor(code: GatewayRefusalCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IngestRefusal';
    this.code = code;
  }
}

export function isRefusal(reply: GatewayReply): reply is RefusalReply {
  return 'error' in reply;
}

export const HTTP_STATUS_TEXT: Readonly<Record<number, string>> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  503: '503 Service Unavailable',
};
