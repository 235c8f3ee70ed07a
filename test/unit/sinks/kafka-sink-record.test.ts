import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unpack } from 'msgpackr';
import { isRetriableKafkaError } from '../../../actors/sinks/kafka-sink.ts';
import { recordKey, toKafkaRecord } from '../../../actors/sinks/kafka-sink-record.ts';

describe('kafka sink records', () => {
  it('keys a window row by window_start and its key fields, so versions of one window share a key', () => {
    const line = '{"window_start":1000,"window_end":2000,"user_id":"u1","region":3,"events":2,"version":1}';
    const record = toKafkaRecord(line, ['user_id', 'region'], 'json');
    assert.equal(record.key, '1000|u1|3');
    assert.equal(record.value, line);
    const next = toKafkaRecord(line.replace('"version":1', '"version":2'), ['user_id', 'region'], 'json');
    assert.equal(next.key, record.key);
  });

  it('keys raw events by their key fields alone, and leaves records unkeyed without fields', () => {
    assert.equal(recordKey({ user_id: 'u1' }, ['user_id']), 'u1');
    assert.equal(recordKey({ user_id: 'u1' }, []), null);
  });

  it('encodes the value as msgpack when asked', () => {
    const record = toKafkaRecord('{"window_start":1,"n":2}', [], 'msgpack');
    assert.deepEqual(unpack(record.value as Buffer), { window_start: 1, n: 2 });
  });

  it('treats kafkajs connection failures as retriable and a refused request as final', () => {
    assert.equal(isRetriableKafkaError({ name: 'KafkaJSConnectionError', retriable: true }), true);
    assert.equal(isRetriableKafkaError({ name: 'KafkaJSNumberOfRetriesExceeded', retriable: false }), true);
    assert.equal(isRetriableKafkaError({ name: 'KafkaJSProtocolError', retriable: false }), false);
    assert.equal(isRetriableKafkaError(new TypeError('bug')), false);
  });
});
