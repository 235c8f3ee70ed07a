import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifyClickHouseError,
  clickHouseErrorCode,
  clickHouseReason,
  toSinkError,
} from '../../../actors/sinks/clickhouse-errors.ts';

const parseError = new Error(
  'Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected " before: x (at row 1)\n, e.what() = DB::Exception',
);

describe('clickhouse errors', () => {
  it('reads the code from an old server message or a new error code field', () => {
    assert.equal(clickHouseErrorCode(parseError), 27);
    assert.equal(clickHouseErrorCode(Object.assign(new Error('x'), { code: '252' })), 252);
    assert.equal(
      clickHouseErrorCode(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      undefined,
    );
  });

  it('blames the rows for parse errors, retries network failures and overload, stops on the rest', () => {
    assert.equal(classifyClickHouseError(parseError), 'bad-rows');
    assert.equal(classifyClickHouseError(new Error('socket hang up')), 'retriable');
    assert.equal(
      classifyClickHouseError(new Error('Code: 252, e.displayText() = Too many parts')),
      'retriable',
    );
    assert.equal(
      classifyClickHouseError(new Error('Code: 60, e.displayText() = Table default.x does not exist')),
      'fatal',
    );
  });

  it('keeps the server message without its trailer', () => {
    assert.equal(
      clickHouseReason(parseError),
      'Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected " before: x (at row 1)',
    );
  });

  it('maps a network failure to a retriable sink error and a missing table to a final one', () => {
    assert.equal(toSinkError('ch', new Error('connect ECONNREFUSED')).retriable, true);
    const missing = toSinkError(
      'ch',
      new Error('Code: 60, e.displayText() = Table default.x does not exist'),
    );
    assert.equal(missing.retriable, false);
    assert.equal(missing.code, 'SLUICE_ERR_SINK_WRITE_FAILED');
  });
});
