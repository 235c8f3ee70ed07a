import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BrokerWatchdog } from '../../../actors/kafka/broker-watchdog.ts';

describe('BrokerWatchdog', () => {
  test('is not overdue while the broker keeps answering within the limit', () => {
    const watchdog = new BrokerWatchdog(10_000, 0);
    for (let now = 0; now <= 60_000; now += 3_000) {
      watchdog.contact(now);
      assert.equal(watchdog.overdue(now + 9_000), null);
    }
  });

  test('reports the silence once it passes the limit', () => {
    const watchdog = new BrokerWatchdog(10_000, 1_000);
    assert.equal(watchdog.overdue(11_000), null);
    assert.equal(watchdog.overdue(11_001), 10_001);
  });

  test('a contact after an outage resets the clock, an older contact does not move it back', () => {
    const watchdog = new BrokerWatchdog(10_000, 0);
    watchdog.contact(8_000);
    watchdog.contact(5_000);
    assert.equal(watchdog.overdue(18_000), null);
    assert.equal(watchdog.overdue(18_001), 10_001);
  });
});
