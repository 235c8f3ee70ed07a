/**
 * Error catalogue of the window operator. Bad events are not errors (see
 * `eventMisfit`); these report a configuration or snapshot the operator cannot run.
 */
export class WindowOperatorError extends Error {
  readonly code: string;
  readonly retriable = false;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The window configuration is invalid; `path` names the offending field. */
export class WindowConfigError extends WindowOperatorError {
  readonly path: string;

  constructor(path: string, expected: string) {
    super('SLUICE_ERR_WINDOW_CONFIG', `window config ${path}: ${expected}`);
    this.path = path;
  }
}

/** A snapshot does not match the operator's format or configuration. */
export class WindowSnapshotError extends WindowOperatorError {
  constructor(reason: string) {
    super('SLUICE_ERR_WINDOW_SNAPSHOT', `window snapshot: ${reason}`);
  }
}
