import { AccumulatorTable } from './aggregates.ts';
import { compareCodeUnits, KEY_GROUPS, keyGroup, keyGroupsOf, keyOrder, keyValues } from './group-key.ts';
import { MinHeap } from './min-heap.ts';
import type {
  ChunkSink,
  Emitter,
  SessionGroup,
  SessionState,
  SluiceEvent,
  WindowOperatorState,
  WindowStateChanges,
} from './types.ts';
import { WindowOperatorError } from './window-errors.ts';
import { keyAsEvent, type StoreContext, type WindowStore } from './window-store.ts';

/**
 * Estimated heap bytes of one key (map entry, `KeySessions`, values tuple) and of one
 * session (object, heap entry, accumulator slot). Rough, on purpose: they turn counts into
 * a budget check.
 */
const KEY_BYTES = 200;
const SESSION_BYTES = 120;

/** The sessions of one key, sorted by start and pairwise disjoint. */
class KeySessions {
  readonly sessions: Session[] = [];
  /** Use clock of the key's last change (see `SessionWindows.clock`). */
  touched = 0;
  readonly group: number;
  private order: string | null = null;

  constructor(
    readonly encoded: string,
    readonly values: unknown[],
  ) {
    this.group = keyGroup(encoded);
  }

  /** The key's sort string, computed on first firing. */
  get sortKey(): string {
    if (this.order === null) this.order = keyOrder(this.values);
    return this.order;
  }
}

class Session {
  /** Highest version emitted for this session or any session merged into it. */
  version = 0;
  fired = false;
  alive = true;
  /** Bumped whenever the session is rescheduled; heap entries with an older stamp are stale. */
  stamp = 0;

  constructor(
    readonly owner: KeySessions,
    public start: number,
    public end: number,
    readonly slot: number,
  ) {}
}

interface Scheduled {
  session: Session;
  stamp: number;
}

function bySortOrder(a: Session, b: Session): number {
  return a.end - b.end || a.start - b.start || compareCodeUnits(a.owner.sortKey, b.owner.sortKey);
}

/**
 * Session windows, per key. An event at t makes a proto-session [t, t + gap) that
 * merges with every session of its key it overlaps; the merged session spans the
 * smallest start to the largest end (last event + gap).
 *
 * Lateness is judged on the proto-session's end e = t + gap against the watermark
 * before the event: watermark >= e + lateness → one late record [t, t + gap);
 * otherwise the event merges. If the merged session's end is already <= watermark
 * (possible only when e <= watermark), it fires at once with version = 1 + the highest
 * version among the sessions merged (1 if none had fired); otherwise it is open and
 * fires when the watermark reaches its end, with that same version rule.
 *
 * A late merge that moves a session's start gives the merged row a new identity
 * (window_start, key): the row emitted earlier under the old start stays as it was.
 *
 * Fired sessions are retained until watermark >= end + lateness. Two heaps with lazy
 * deletion find what to fire and purge without scanning every key.
 *
 * Memory budget: `evict` drops clean key groups whole (every key of a group, every
 * session of each key) after a checkpoint committed; the store holds them as they are.
 * Per evicted group it keeps the session count and the group's deadline — the earliest
 * time a watermark fires or purges one of its sessions — so the owner knows which groups
 * a watermark move needs (`missingGroups`) without reading any, and `advance` refuses a
 * watermark that reaches a deadline not read back.
 */
export class SessionWindows implements WindowStore {
  openWindows = 0;
  /** Stamps changed keys; a key is dirty when its stamp is newer than `cleanClock`. */
  private clock = 1;
  private cleanClock = 0;
  /** Key groups that lost a key since the last capture. */
  private readonly emptiedGroups = new Uint8Array(KEY_GROUPS);
  /** Per key group: its sessions held in the store only (0 when the group is in memory). */
  private readonly evictedSessionsOf = new Int32Array(KEY_GROUPS);
  /** Per evicted key group: the lowest watermark that fires or purges one of its sessions. */
  private readonly evictedDeadlineOf = new Float64Array(KEY_GROUPS).fill(Number.POSITIVE_INFINITY);
  /** Per key group: 1 when evicted. */
  private readonly evictedFlags = new Uint8Array(KEY_GROUPS);
  private evictedGroupCount = 0;
  private evictedSessions = 0;
  /** The lowest deadline of any evicted group. */
  private evictedDeadline = Number.POSITIVE_INFINITY;

  private readonly gap: number;
  private readonly lateness: number;
  private readonly groupBy: readonly string[];
  private readonly table: AccumulatorTable;
  private readonly keys = new Map<string, KeySessions>();
  private readonly toFire = new MinHeap<Scheduled>();
  private readonly toPurge = new MinHeap<Scheduled>();

  constructor(private readonly context: StoreContext) {
    const spec = context.config.window;
    if (spec.type !== 'session') throw new TypeError('SessionWindows holds session windows only');
    this.gap = spec.gapMs;
    this.lateness = context.config.allowedLatenessMs;
    this.groupBy = context.config.groupBy;
    this.table = new AccumulatorTable(context.config.aggregates);
  }

  get nextDeadline(): number {
    return Math.min(this.toFire.peekPriority(), this.toPurge.peekPriority(), this.evictedDeadline);
  }

  assign(event: SluiceEvent, time: number, watermarkBefore: number, emit: Emitter): void {
    const protoEnd = time + this.gap;
    if (watermarkBefore >= protoEnd + this.lateness) {
      emit.late({ event, window_start: time, window_end: protoEnd, watermark: watermarkBefore });
      return;
    }
    const encoded = this.context.encodeKey(event);
    let owner = this.keys.get(encoded);
    if (owner === undefined) {
      if (this.evictedGroupCount > 0 && this.evictedFlags[keyGroup(encoded)] !== 0) {
        // A new key here would shadow the key's stored sessions and lose them at the next checkpoint.
        throw new WindowOperatorError(
          'SLUICE_ERR_WINDOW_EVICTED',
          `session key group ${keyGroup(encoded)} is evicted and was not read back`,
        );
      }
      owner = new KeySessions(encoded, keyValues(this.groupBy, event));
      this.keys.set(encoded, owner);
    }
    owner.touched = this.clock;
    const sessions = owner.sessions;
    let first = 0;
    while (first < sessions.length && sessions[first].end <= time) first++;
    let last = first;
    while (last < sessions.length && sessions[last].start < protoEnd) last++;

    let session: Session;
    let rescheduled: boolean;
    if (first === last) {
      session = new Session(owner, time, protoEnd, this.table.allocate());
      sessions.splice(first, 0, session);
      this.openWindows++;
      rescheduled = true;
    } else {
      session = sessions[first];
      const previousEnd = session.end;
      for (let index = first + 1; index < last; index++) this.absorb(session, sessions[index]);
      sessions.splice(first + 1, last - first - 1);
      session.start = Math.min(session.start, time);
      session.end = Math.max(session.end, protoEnd);
      rescheduled = last - first > 1 || session.end !== previousEnd || session.fired;
    }
    this.table.add(session.slot, event, time);

    if (session.end <= watermarkBefore) {
      this.emitFiring(session, emit);
    } else if (rescheduled) {
      session.fired = false;
      session.stamp++;
      this.toFire.push(session.end, { session, stamp: session.stamp });
    }
  }

  /** Folds `other` (the next session of the same key) into `session`. */
  private absorb(session: Session, other: Session): void {
    this.table.merge(session.slot, other.slot);
    this.table.release(other.slot);
    other.alive = false;
    session.version = Math.max(session.version, other.version);
    session.end = Math.max(session.end, other.end);
    this.openWindows--;
  }

  private emitFiring(session: Session, emit: Emitter): void {
    session.owner.touched = this.clock;
    session.version++;
    session.fired = true;
    session.stamp++;
    this.toPurge.push(session.end + this.lateness, { session, stamp: session.stamp });
    emit.row(
      this.context.buildRow(
        session.start,
        session.end,
        session.owner.values,
        this.table,
        session.slot,
        session.version,
      ),
    );
  }

  advance(watermark: number, emit: Emitter): void {
    if (this.evictedGroupCount > 0 && watermark >= this.evictedDeadline) {
      throw new WindowOperatorError(
        'SLUICE_ERR_WINDOW_EVICTED',
        `watermark ${watermark} reaches sessions evicted and not read back (deadline ${this.evictedDeadline})`,
      );
    }
    const ready: Session[] = [];
    while (this.toFire.size > 0 && this.toFire.peekPriority() <= watermark) {
      const { session, stamp } = this.toFire.pop() as Scheduled;
      if (session.alive && session.stamp === stamp && !session.fired) ready.push(session);
    }
    ready.sort(bySortOrder);
    for (const session of ready) this.emitFiring(session, emit);

    while (this.toPurge.size > 0 && this.toPurge.peekPriority() <= watermark) {
      const { session, stamp } = this.toPurge.pop() as Scheduled;
      if (session.alive && session.stamp === stamp && session.fired) this.purge(session);
    }
  }

  private purge(session: Session): void {
    const owner = session.owner;
    owner.sessions.splice(owner.sessions.indexOf(session), 1);
    owner.touched = this.clock;
    if (owner.sessions.length === 0) {
      this.keys.delete(owner.encoded);
      this.emptiedGroups[owner.group] = 1;
    }
    this.table.release(session.slot);
    session.alive = false;
    this.openWindows--;
  }

  save(state: WindowOperatorState): void {
    if (this.evictedGroupCount > 0) {
      throw new WindowOperatorError('SLUICE_ERR_WINDOW_EVICTED', 'a snapshot needs every session in memory');
    }
    for (const owner of this.keys.values()) {
      for (const session of owner.sessions) {
        state.sessions.push({
          key: owner.values.slice(),
          start: session.start,
          end: session.end,
          version: session.version,
          fired: session.fired,
          aggregates: this.table.save(session.slot),
        });
      }
    }
  }

  load(state: WindowOperatorState): void {
    this.loadSessions(state.sessions, this.clock);
  }

  private loadSessions(list: readonly SessionState[], stamp: number): void {
    const loaded = new Set<KeySessions>();
    for (const saved of list) {
      const event = keyAsEvent(this.groupBy, saved.key);
      const encoded = this.context.encodeKey(event);
      let owner = this.keys.get(encoded);
      if (owner === undefined) {
        owner = new KeySessions(encoded, keyValues(this.groupBy, event));
        this.keys.set(encoded, owner);
      }
      owner.touched = stamp;
      loaded.add(owner);
      const session = new Session(owner, saved.start, saved.end, this.table.allocate());
      this.table.load(session.slot, saved.aggregates);
      session.version = saved.version;
      session.fired = saved.fired;
      owner.sessions.push(session);
      this.openWindows++;
      const heap = session.fired ? this.toPurge : this.toFire;
      heap.push(session.fired ? session.end + this.lateness : session.end, { session, stamp: 0 });
    }
    // A store may hand the sessions back in another order (chunked keys sort as text).
    for (const owner of loaded) owner.sessions.sort((a, b) => a.start - b.start);
  }

  tick(): void {
    this.clock++;
  }

  /** The sessions of every key group with a changed key (every group, when `all`); then clean. */
  captureChanges(all: boolean, changes: WindowStateChanges, _onChunk: ChunkSink): void {
    if (all && this.evictedGroupCount > 0) {
      // A full capture replaces what is stored: evicted groups would be lost.
      throw new WindowOperatorError(
        'SLUICE_ERR_WINDOW_EVICTED',
        'a full capture needs every session in memory',
      );
    }
    const dirty = all ? new Uint8Array(KEY_GROUPS) : this.emptiedGroups.slice();
    const byGroup: Array<SessionState[] | undefined> = new Array(KEY_GROUPS);
    for (const owner of this.keys.values())
      if (all || owner.touched > this.cleanClock) dirty[owner.group] = 1;
    for (let group = 0; group < KEY_GROUPS; group++) if (dirty[group] !== 0) byGroup[group] = [];
    for (const owner of this.keys.values()) {
      const list = byGroup[owner.group];
      if (list === undefined) continue;
      for (const session of owner.sessions) {
        list.push({
          key: owner.values.slice(),
          start: session.start,
          end: session.end,
          version: session.version,
          fired: session.fired,
          aggregates: this.table.save(session.slot),
        });
      }
    }
    byGroup.forEach((sessions, group) => {
      if (sessions !== undefined) changes.sessionGroups.push({ group, sessions });
    });
    this.emptiedGroups.fill(0);
    this.cleanClock = this.clock;
    this.clock++;
  }

  /**
   * Restore: the stored sessions of one key group. `resident` false records them as
   * evicted instead (state larger than its memory budget): their count and deadline only.
   */
  restoreGroup(stored: SessionGroup, resident: boolean): void {
    if (resident) {
      this.loadSessions(stored.sessions, 0);
      return;
    }
    let deadline = Number.POSITIVE_INFINITY;
    for (const session of stored.sessions) {
      deadline = Math.min(deadline, session.fired ? session.end + this.lateness : session.end);
    }
    this.markEvicted(stored.group, stored.sessions.length, deadline);
  }

  private markEvicted(group: number, sessions: number, deadline: number): void {
    if (this.evictedFlags[group] !== 0)
      throw new WindowOperatorError(
        'SLUICE_ERR_WINDOW_EVICTED',
        `session key group ${group} is evicted twice`,
      );
    this.evictedFlags[group] = 1;
    this.evictedGroupCount++;
    this.evictedSessionsOf[group] = sessions;
    this.evictedSessions += sessions;
    this.evictedDeadlineOf[group] = deadline;
    if (deadline < this.evictedDeadline) this.evictedDeadline = deadline;
    this.openWindows += sessions;
  }

  /** Estimated heap bytes of the keys and sessions held in memory. */
  get estimatedBytes(): number {
    return this.keys.size * KEY_BYTES + (this.openWindows - this.evictedSessions) * SESSION_BYTES;
  }

  /** Sessions held in memory. */
  get residentSessions(): number {
    return this.openWindows - this.evictedSessions;
  }

  /** Key groups evicted. */
  get evictedGroups(): number {
    return this.evictedGroupCount;
  }

  /** Whether any key group is evicted (read-backs may be due). */
  get hasEvicted(): boolean {
    return this.evictedGroupCount > 0;
  }

  /**
   * Drops clean key groups from memory, least recently used first, until the estimate is
   * at most `targetBytes`; the store holds them exactly as they are. Returns the sessions
   * evicted. Call right after a checkpoint committed, when every key is clean.
   */
  evict(targetBytes: number): number {
    let excess = this.estimatedBytes - targetBytes;
    if (excess <= 0) return 0;
    const perGroup: Array<{ lastUse: number; owners: KeySessions[]; dirty: boolean } | undefined> = new Array(
      KEY_GROUPS,
    );
    for (const owner of this.keys.values()) {
      let entry = perGroup[owner.group];
      if (entry === undefined) {
        entry = { lastUse: 0, owners: [], dirty: this.emptiedGroups[owner.group] !== 0 };
        perGroup[owner.group] = entry;
      }
      entry.owners.push(owner);
      if (owner.touched > entry.lastUse) entry.lastUse = owner.touched;
      if (owner.touched > this.cleanClock) entry.dirty = true;
    }
    const candidates: number[] = [];
    perGroup.forEach((entry, group) => {
      if (entry !== undefined && !entry.dirty) candidates.push(group);
    });
    candidates.sort((a, b) => (perGroup[a]?.lastUse ?? 0) - (perGroup[b]?.lastUse ?? 0) || a - b);
    let evicted = 0;
    for (const group of candidates) {
      if (excess <= 0) break;
      const owners = (perGroup[group] as { owners: KeySessions[] }).owners;
      let deadline = Number.POSITIVE_INFINITY;
      let sessions = 0;
      for (const owner of owners) {
        for (const session of owner.sessions) {
          deadline = Math.min(deadline, session.fired ? session.end + this.lateness : session.end);
          this.table.release(session.slot);
          // Its heap entries go stale and are skipped when popped.
          session.alive = false;
          sessions++;
        }
        this.keys.delete(owner.encoded);
      }
      this.openWindows -= sessions;
      this.markEvicted(group, sessions, deadline);
      evicted += sessions;
      excess -= owners.length * KEY_BYTES + sessions * SESSION_BYTES;
    }
    // Evicted sessions leave stale heap entries; drop them once they outnumber the live
    // ones, so evict/read-back cycles do not grow the heaps past the sessions in memory.
    const live = this.residentSessions;
    if (this.toFire.size + this.toPurge.size > 2 * live + 64) {
      const current = (entry: Scheduled) => entry.session.alive && entry.session.stamp === entry.stamp;
      this.toFire.retain(current);
      this.toPurge.retain(current);
    }
    return evicted;
  }

  /**
   * The evicted key groups to read back before processing `events` in one batch, with
   * `watermarkBound` the highest watermark that batch can reach: each event's key group,
   * and every group whose deadline that watermark reaches. `encode` gives the event's
   * encoded key (null: the event skips this window). Empty at once when nothing is evicted.
   */
  missingGroups(
    events: readonly (SluiceEvent | null)[],
    watermarkBound: number,
    encode: (event: SluiceEvent, index: number) => string | null,
  ): number[] {
    const missing: number[] = [];
    if (this.evictedGroupCount === 0) return missing;
    const wanted = keyGroupsOf(events, encode);
    for (let group = 0; group < KEY_GROUPS; group++) {
      if (
        this.evictedFlags[group] !== 0 &&
        (wanted[group] !== 0 || this.evictedDeadlineOf[group] <= watermarkBound)
      )
        missing.push(group);
    }
    return missing;
  }

  /** Reads evicted groups back: their stored sessions, as `missingGroups` named them. */
  readBack(groups: readonly SessionGroup[]): void {
    let lowered = false;
    for (const stored of groups) {
      const group = stored.group;
      if (this.evictedFlags[group] === 0) {
        throw new WindowOperatorError(
          'SLUICE_ERR_WINDOW_EVICTED',
          `session key group ${group} is not evicted`,
        );
      }
      if (this.evictedDeadlineOf[group] === this.evictedDeadline) lowered = true;
      this.evictedFlags[group] = 0;
      this.evictedGroupCount--;
      this.openWindows -= this.evictedSessionsOf[group];
      this.evictedSessions -= this.evictedSessionsOf[group];
      this.evictedSessionsOf[group] = 0;
      this.evictedDeadlineOf[group] = Number.POSITIVE_INFINITY;
      this.loadSessions(stored.sessions, this.cleanClock);
    }
    if (lowered) {
      let deadline = Number.POSITIVE_INFINITY;
      for (let group = 0; group < KEY_GROUPS; group++) {
        if (this.evictedDeadlineOf[group] < deadline) deadline = this.evictedDeadlineOf[group];
      }
      this.evictedDeadline = deadline;
    }
  }
}
