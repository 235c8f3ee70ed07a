import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Who may talk to the gateway: bearer tokens read once at start from `env:VARIABLE` or
 * `file:path` (comma- or newline-separated), and the browser origins in
 * `allowedOrigins`. Tokens are compared by their SHA-256 digests in constant time, so
 * neither a token's length nor its first differing byte shows in the response time.
 */
export class TokenSetError extends Error {}

export function loadTokens(spec: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  if (spec.startsWith('env:')) {
    const name = spec.slice(4);
    const value = env[name];
    if (value === undefined) throw new TokenSetError(`gateway auth: environment variable ${name} is not set`);
    text = value;
  } else if (spec.startsWith('file:')) {
    text = readFileSync(spec.slice(5), 'utf8');
  } else {
    throw new TokenSetError(`gateway auth: tokens must be env:VARIABLE or file:path, got ${spec}`);
  }
  const tokens = text
    .split(/[,\n]/)
    .map((token) => token.trim())
    .filter((token) => token.length > 0);
  if (tokens.length === 0) throw new TokenSetError(`gateway auth: ${spec} holds no token`);
  return tokens;
}

export interface AccessControlOptions {
  /** null: no authentication. */
  tokens: readonly string[] | null;
  allowedOrigins: readonly string[];
}

const digest = (text: string) => createHash('sha256').update(text).digest();

export class AccessControl {
  readonly #digests: Buffer[] | null;
  readonly #origins: ReadonlySet<string>;

  constructor(options: AccessControlOptions) {
    this.#digests = options.tokens === null ? null : options.tokens.map(digest);
    this.#origins = new Set(options.allowedOrigins);
  }

  /** Whether an `Authorization` header value carries an accepted bearer token. */
  authorized(header: string): boolean {
    if (this.#digests === null) return true;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) return false;
    const given = digest(match[1]);
    let found = false;
    for (const known of this.#digests) found = timingSafeEqual(known, given) || found;
    return found;
  }

  /** Whether an `Origin` header value (empty when absent: not a browser) may connect. */
  originAllowed(origin: string): boolean {
    return origin === '' || this.#origins.has(origin);
  }
}
