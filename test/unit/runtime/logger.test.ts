import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, parseLogLevel } from '../../../runtime/logger.ts';

describe('logger', () => {
  it('writes records at or above its level with the bindings of its children', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (line) => lines.push(line) });
    log.debug('hidden');
    log.child({ actor: 'p-0' }).warn('mailbox full', { depth: 8, note: 'two words' });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT.*Z WARN mailbox full actor=p-0 depth=8 note="two words"\n$/);
  });

  it('reads the level from SLUICE_LOG values and falls back to info', () => {
    assert.equal(parseLogLevel('debug'), 'debug');
    assert.equal(parseLogLevel('error'), 'error');
    assert.equal(parseLogLevel('loud'), 'info');
    assert.equal(parseLogLevel(undefined), 'info');
  });
});
