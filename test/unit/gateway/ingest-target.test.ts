import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchIngester } from '../../../actors/gateway/batch-ingester.ts';
import { FORWARD_DEAD_LETTER_HEADERS } from '../../../actors/gateway/forwarded-source.ts';
import { kafkaTarget } from '../../../actors/gateway/ingest-target.ts';
import type { ForwardRecord } from '../../../actors/gateway/kafka-forward.ts';

/** A `forward: kafka` ingester whose Kafka acknowledges every record and keeps it here. */
function forwardingIngester() {
  const sent: ForwardRecord[] = [];
  const forward = {
    pending: 0,
    hasRoom: () => true,
    send: async (records: readonly ForwardRecord[]) => {
      sent.push(...records);
    },
  };
  const ingester = new BatchIngester({
    target: kafkaTarget(forward, 4, (event) => String(event.user_id)),
    keyField: 'user_id',
    timeField: 'ts',
  });
  return { ingester, sent };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const deadLetter = (record: ForwardRecord) => ({
  partition: record.partition,
  code: record.headers?.[FORWARD_DEAD_LETTER_HEADERS.code],
  reason: record.headers?.[FORWARD_DEAD_LETTER_HEADERS.reason],
  value: record.value.toString(),
});

describe('forward: kafka target', () => {
  it("writes each refused event to partition 0 with the gateway's code and reason in its headers", async () => {
    const { ingester, sent } = forwardingIngester();
    const reply = await ingester.ingest(
      json({ id: 'b', events: [{ user_id: 'ann', ts: 1 }, { ts: 2 }, { user_id: 'cy', ts: 'soon' }] }),
      false,
    );
    assert.equal('error' in reply && reply.error, 'EVENT_INVALID');
    assert.deepEqual(sent.map(deadLetter), [
      { partition: 0, code: 'KEY_MISSING', reason: 'field user_id: missing key', value: '{"ts":2}' },
      {
        partition: 0,
        code: 'TIME_INVALID',
        reason: 'field ts: missing or not a time (ms since the epoch or ISO-8601)',
        value: '{"user_id":"cy","ts":"soon"}',
      },
    ]);
  });

  it('writes a malformed payload as the client sent it, with the parse failure in its headers', async () => {
    const { ingester, sent } = forwardingIngester();
    await ingester.ingest(Buffer.from('{"user_id": '), false);
    assert.equal(sent.length, 1);
    const [letter] = sent.map(deadLetter);
    assert.deepEqual([letter.partition, letter.code, letter.value], [0, 'JSON_INVALID', '{"user_id": ']);
    assert.match(String(letter.reason), /^invalid JSON: /);
  });

  it('writes accepted events as frames without dead-letter headers', async () => {
    const { ingester, sent } = forwardingIngester();
    assert.deepEqual(await ingester.ingest(json([{ user_id: 'ann', ts: 1 }]), false), {
      ack: null,
      count: 1,
    });
    assert.deepEqual(
      sent.map((record) => [record.key, record.headers]),
      [['ann', undefined]],
    );
  });
});
