import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  validateWindowConfig,
  WindowConfigError,
  type WindowOperatorConfig,
} from '../../../actors/windows/index.ts';

const valid: WindowOperatorConfig = {
  window: { type: 'hopping', sizeMs: 60_000, slideMs: 10_000 },
  allowedLatenessMs: 0,
  maxOutOfOrderMs: 5_000,
  groupBy: ['user'],
  aggregates: [{ name: 'events', fn: 'count' }],
};

function rejection(config: unknown): WindowConfigError {
  try {
    validateWindowConfig(config as WindowOperatorConfig);
  } catch (error) {
    assert.ok(error instanceof WindowConfigError);
    assert.equal(error.code, 'SLUICE_ERR_WINDOW_CONFIG');
    return error;
  }
  assert.fail('config was accepted');
}

describe('window config validation', () => {
  it('accepts a valid config', () => {
    validateWindowConfig(valid);
  });

  it('names the path of a non-positive window size', () => {
    assert.equal(rejection({ ...valid, window: { type: 'tumbling', sizeMs: 0 } }).path, 'window.sizeMs');
    assert.equal(rejection({ ...valid, window: { type: 'session', gapMs: -1 } }).path, 'window.gapMs');
  });

  it('refuses negative lateness or out-of-orderness', () => {
    assert.equal(rejection({ ...valid, allowedLatenessMs: -1 }).path, 'allowedLatenessMs');
    assert.equal(rejection({ ...valid, maxOutOfOrderMs: Number.NaN }).path, 'maxOutOfOrderMs');
  });

  it('refuses an aggregate other than count without a field', () => {
    assert.equal(rejection({ ...valid, aggregates: [{ name: 's', fn: 'sum' }] }).path, 'aggregates[0].field');
  });

  it('refuses output names that collide, are reserved, or would reorder the row', () => {
    const twice = { ...valid, aggregates: [{ name: 'user', fn: 'count' }] };
    assert.match(rejection(twice).message, /defined twice/);
    assert.equal(rejection({ ...valid, groupBy: ['version'] }).path, 'groupBy[0]');
    assert.equal(
      rejection({ ...valid, aggregates: [{ name: '42', fn: 'count' }] }).path,
      'aggregates[0].name',
    );
    assert.equal(rejection({ ...valid, groupBy: ['__proto__'] }).path, 'groupBy[0]');
  });

  it('refuses an unknown window type or aggregate function', () => {
    assert.equal(rejection({ ...valid, window: { type: 'sliding', sizeMs: 1 } }).path, 'window.type');
    assert.equal(
      rejection({ ...valid, aggregates: [{ name: 'p', fn: 'median', field: 'x' }] }).path,
      'aggregates[0].fn',
    );
  });
});
