import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeAssembler, type PgoutputMessage } from '../../../actors/cdc/change-assembler.ts';
import type { TableShape } from '../../../actors/cdc/debezium-envelope.ts';

const users: TableShape = {
  schema: 'public',
  table: 'users',
  columns: [
    { name: 'id', typeOid: 23, typeMod: -1 },
    { name: 'name', typeOid: 25, typeMod: -1 },
  ],
  keyColumns: ['id'],
  version: 1,
};

const relation = (columns: TableShape['columns'], oid = 100, name = 'users'): PgoutputMessage => ({
  tag: 'relation',
  relationOid: oid,
  schema: 'public',
  name,
  replicaIdentity: 'default',
  columns,
  keyColumns: ['id'],
});
const begin = (lsn: string): PgoutputMessage => ({
  tag: 'begin',
  commitLsn: lsn,
  commitTime: 1_700_000_000_000_000n,
  xid: 9,
});
const commit = (lsn: string, end: string): PgoutputMessage => ({
  tag: 'commit',
  commitLsn: lsn,
  commitEndLsn: end,
});
const insert = (values: Record<string, string | null>, oid = 100): PgoutputMessage => ({
  tag: 'insert',
  relation: { relationOid: oid },
  new: values,
});

function assembler() {
  return new ChangeAssembler([users], { name: 'shop', db: 'db', now: () => 5 });
}

describe('pgoutput messages become routed Debezium events', () => {
  it('changes of a transaction get positions <commit LSN>#<ordinal> and the commit time', () => {
    const subject = assembler();
    subject.accept(relation(users.columns));
    subject.accept(begin('0/200'));
    const first = subject.accept(insert({ id: '1', name: 'a' }), '0/180');
    const second = subject.accept(insert({ id: '2', name: 'b' }), '0/190');
    const done = subject.accept(commit('0/200', '0/230'));
    assert.equal(first.kind, 'event');
    assert.equal(second.kind, 'event');
    if (first.kind !== 'event' || second.kind !== 'event') return;
    assert.equal(first.routed.position, '0/00000200#0');
    assert.equal(second.routed.position, '0/00000200#1');
    assert.equal(first.routed.partition, 0);
    const source = first.routed.event.source as Record<string, unknown>;
    assert.equal(source.ts_ms, 1_700_000_000_000);
    assert.equal(source.lsn, 0x180);
    assert.deepEqual(done, { kind: 'commit', endLsn: 0x230n });
  });

  it('a relation with new columns bumps the schema version; the same columns do not', () => {
    const subject = assembler();
    subject.accept(relation(users.columns));
    assert.equal(subject.shape(0).version, 1);
    subject.accept(relation([...users.columns, { name: 'country', typeOid: 25, typeMod: -1 }]));
    assert.equal(subject.shape(0).version, 2);
    subject.accept(begin('0/300'));
    const added = subject.accept(insert({ id: '3', name: 'c', country: 'FR' }));
    assert.ok(added.kind === 'event');
    assert.deepEqual(added.routed.event.after, { id: 3, name: 'c', country: 'FR' });
    assert.equal(added.routed.event._schemaVersion, 2);
  });

  it('changes of tables not listed are ignored', () => {
    const subject = assembler();
    subject.accept(relation(users.columns, 200, 'other'));
    subject.accept(begin('0/400'));
    assert.deepEqual(subject.accept(insert({ id: '1' }, 200)), { kind: 'none' });
  });
});
