import { SluiceError } from '../runtime/errors.ts';

/**
 * Error catalogue of the state layer. Every class extends the `SluiceError` root so
 * callers decide on the stable `code`, never on message text. None is retriable: a
 * state error means the data on disk is not what this version can trust, and the
 * owner (partition actor, CLI) must restore, roll back or stop — not try again.
 */
export class StateError extends SluiceError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { retriable: false, cause });
  }
}

/** The database was written with a key-layout version this build does not know. */
export class StateFormatError extends StateError {
  readonly found: string;
  readonly supported: number;

  constructor(dir: string, found: string, supported: number) {
    super(
      'SLUICE_ERR_STATE_FORMAT_UNKNOWN',
      `state database ${dir} has format version ${found}; this build reads version ${supported} only`,
    );
    this.found = found;
    this.supported = supported;
  }
}

/** The database exists but cannot be used: corrupt LevelDB files, foreign content, a restore cut short. */
export class StateUnreadableError extends StateError {
  readonly dir: string;
  readonly reason: string;
  /** Set when a snapshot restore was cut short: the snapshot it was restoring, to restore again. */
  readonly restoringFrom?: string;

  constructor(dir: string, reason: string, cause?: unknown, restoringFrom?: string) {
    super(
      'SLUICE_ERR_STATE_UNREADABLE',
      `state database ${dir} is unreadable: ${reason}${restoringFrom === undefined ? '' : ` (from ${restoringFrom})`}`,
      cause,
    );
    this.dir = dir;
    this.reason = reason;
    if (restoringFrom !== undefined) this.restoringFrom = restoringFrom;
  }
}

/** Another process (or another store in this one) holds the database's lock. */
export class StateLockedError extends StateError {
  constructor(dir: string, cause?: unknown) {
    super('SLUICE_ERR_STATE_LOCKED', `state database ${dir} is in use by another process`, cause);
  }
}

/** A snapshot file failed verification (magic, version, lengths or CRC). */
export class SnapshotInvalidError extends StateError {
  readonly file: string;
  readonly reason: string;

  constructor(file: string, reason: string) {
    super('SLUICE_ERR_STATE_SNAPSHOT_INVALID', `snapshot ${file} is invalid: ${reason}`);
    this.file = file;
    this.reason = reason;
  }
}

/** Recovery needed a snapshot, but every one on disk is invalid. */
export class NoValidSnapshotError extends StateError {
  constructor(dir: string, tried: number) {
    super(
      'SLUICE_ERR_STATE_NO_VALID_SNAPSHOT',
      `state database ${dir} is missing or unreadable and none of its ${tried} snapshot file(s) is valid`,
    );
  }
}

/** A call the store cannot honour as asked: bad namespace name, snapshot before any checkpoint, use after close. */
export class StateUsageError extends StateError {
  constructor(reason: string) {
    super('SLUICE_ERR_STATE_USAGE', reason);
  }
}
