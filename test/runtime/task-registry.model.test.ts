/**
 * Model-based tests of the TaskRegistry: random sequences of starts, completions, failures,
 * aborts, progress updates, clock ticks, TTL changes, drains and reads, on a manual clock. After
 * every command the world is checked against an oracle built from what the test did and the
 * event log: transitions in the table, reads without side effects, exact TTL retention, folding
 * with failure paths, BFS order, abort rules, cleanups once and LIFO, idempotency keys,
 * admission limits, progress sums, one event per change.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/manual-clock.js';
import { NotAbortableError, TaskNotFoundError } from '../../src/runtime/runtime-errors.js';
import type { TaskStatus } from '../../src/runtime/task.js';
import type { TaskContext } from '../../src/runtime/task-context.js';
import type { TaskEvent, TaskStateEvent } from '../../src/runtime/task-events.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import { canTransition, isTerminalState, type TaskState } from '../../src/runtime/task-state.js';
import { ControlledBody, settle } from './task-harness.js';

const KINDS = ['a', 'b', 'c'] as const;
const LIMITS: Record<string, number> = { a: 1, b: 2 };
const UNITS = ['records', 'bytes'] as const;
const TTLS = [50, 100, 200] as const;
const FOLDED_LIMIT = 4;

interface TaskInfo {
  readonly id: string;
  readonly parent: TaskInfo | undefined;
  readonly kind: string;
  readonly unit: string;
  readonly key: string | undefined;
  readonly userStarted: boolean;
  readonly children: TaskInfo[];
  readonly body: ControlledBody;
  readonly cleanupThrows: readonly boolean[];
  readonly cleanupLog: number[];
  own: { completed: number; total: number | undefined };
  failedByTest: boolean;
  doneStatus: TaskStatus | undefined;
}

/** The system under test plus everything the oracle needs to know. */
class World {
  readonly clock = new ManualClock(10_000);
  readonly events: TaskEvent[] = [];
  private readonly chains = new Map<string, TaskStateEvent[]>();
  readonly tasks: TaskInfo[] = [];
  readonly byId = new Map<string, TaskInfo>();
  readonly removedRoots = new Set<string>();
  readonly lastProgress = new Map<string, { completed: number; total: number | undefined }>();
  ttl = { ttlMs: 100, userTtlMs: 200 };
  readonly registry: TaskRegistry;

  constructor(listenerAborts: 'never' | 'on-pending' | 'on-running') {
    this.registry = new TaskRegistry({
      clock: this.clock,
      limits: LIMITS,
      ...this.ttl,
      progressIntervalMs: 10,
      foldedStatusLimit: FOLDED_LIMIT,
    });
    this.registry.subscribe((e) => {
      this.events.push(e);
      if (e.type !== 'state') return;
      const chain = this.chains.get(e.taskId) ?? [];
      chain.push(e);
      this.chains.set(e.taskId, chain);
    });
    if (listenerAborts !== 'never') {
      // Re-entrant calls from a listener must neither deadlock nor reorder events. Aborting on
      // `pending` hits a task that may hold a token and not have started yet.
      const on = listenerAborts === 'on-pending' ? 'pending' : 'running';
      this.registry.subscribe((e) => {
        if (e.type === 'state' && e.to === on && e.status.kind === 'c' && e.status.abortable) {
          this.registry.list({ internal: true });
          this.registry.abort(e.taskId, 'listener');
        }
      });
    }
  }

  stateEvents(id: string): readonly TaskStateEvent[] {
    return this.chains.get(id) ?? [];
  }

  lastState(id: string): TaskState {
    const events = this.stateEvents(id);
    const last = events[events.length - 1];
    if (last === undefined) throw new Error(`no event for ${id}`);
    return last.to;
  }

  isTerminal(id: string): boolean {
    return isTerminalState(this.lastState(id));
  }

  rootOf(info: TaskInfo): TaskInfo {
    let r = info;
    while (r.parent !== undefined) r = r.parent;
    return r;
  }

  /** Marks roots whose TTL passed (the registry must have removed them at the same moment). */
  applyTtl(): void {
    const now = this.clock.now();
    for (const info of this.tasks) {
      if (
        info.parent !== undefined ||
        this.removedRoots.has(info.id) ||
        !this.isTerminal(info.id)
      ) {
        continue;
      }
      const endedAt = this.stateEvents(info.id).at(-1)!.at;
      const ttl = info.userStarted ? this.ttl.userTtlMs : this.ttl.ttlMs;
      if (now >= endedAt + ttl) this.removedRoots.add(info.id);
    }
  }

  readAll(): unknown {
    const r = this.registry;
    return {
      list: r.list({ internal: true }),
      visible: r.list(),
      kinds: r.kinds(),
      ttl: r.getTtl(),
      each: this.tasks.map((t) => r.find(t.id) ?? null),
      trees: r
        .list({ internal: true })
        .filter((t) => t.parentId === null)
        .map((t) => r.recursive(t.id)),
    };
  }
}

function aggregate(info: TaskInfo): { completed: number; bound: number; bounded: boolean } {
  let completed = info.own.completed;
  let bound = info.own.total ?? info.own.completed;
  let bounded = info.own.total !== undefined;
  for (const child of info.children) {
    if (child.unit !== info.unit) continue;
    const sum = aggregate(child);
    completed += sum.completed;
    bound += sum.bound;
    bounded ||= sum.bounded;
  }
  return { completed, bound, bounded };
}

function hasFailedDescendant(world: World, info: TaskInfo): boolean {
  return info.children.some(
    (c) => world.lastState(c.id) === 'failed' || hasFailedDescendant(world, c),
  );
}

function checkInvariants(world: World): void {
  const r = world.registry;

  // Reads are free of side effects.
  const first = world.readAll();
  assert.deepEqual(world.readAll(), first);

  // One event per change, consecutive sequence numbers, every transition in the table.
  world.events.forEach((e, i) => {
    assert.equal(e.seq, i + 1);
  });
  for (const info of world.tasks) {
    const chain = world.stateEvents(info.id);
    assert.equal(chain[0]?.from, null);
    assert.equal(chain[0]?.to, 'created');
    for (let i = 1; i < chain.length; i++) {
      const e = chain[i]!;
      assert.equal(e.from, chain[i - 1]!.to);
      assert.equal(canTransition(e.from!, e.to), true);
    }
    for (const e of chain) assert.equal(e.status.state, e.to);
    assert.ok(chain.filter((e) => isTerminalState(e.to)).length <= 1);
  }

  const registered = new Map(r.list({ internal: true }).map((t) => [t.id, t]));
  // Folded children keep their final status fetchable by id, a bounded number of them.
  let foldedFound = 0;
  for (const info of world.tasks) {
    if (registered.has(info.id)) continue;
    const found = r.find(info.id);
    if (world.removedRoots.has(world.rootOf(info).id)) assert.equal(found, undefined);
    else if (found !== undefined) {
      foldedFound++;
      assert.deepEqual(found, info.doneStatus);
    }
  }
  assert.ok(foldedFound <= FOLDED_LIMIT);
  for (const info of world.tasks) {
    const status = registered.get(info.id);
    const root = world.rootOf(info);
    const terminal = world.isTerminal(info.id);
    // Registered tasks show the state of their last event; active tasks are never removed.
    if (status !== undefined) assert.equal(status.state, world.lastState(info.id));
    if (!terminal) assert.notEqual(status, undefined);
    // Retention: roots by TTL/drain, children by folding with failure paths kept.
    if (info.parent === undefined) {
      assert.equal(status !== undefined, !world.removedRoots.has(info.id));
    } else if (world.removedRoots.has(root.id)) {
      assert.equal(status, undefined);
    } else if (terminal) {
      const kept = world.lastState(info.id) === 'failed' || hasFailedDescendant(world, info);
      assert.equal(status !== undefined, kept);
    }
    if (status !== undefined && info.parent !== undefined) {
      assert.ok(registered.get(info.parent.id)?.children?.includes(info.id));
    }

    // Cleanups ran exactly once, LIFO, on every outcome; the outcome follows the rules.
    if (terminal) {
      const done = info.doneStatus;
      assert.equal(done?.state, world.lastState(info.id));
      if (!info.body.started) {
        assert.deepEqual(info.cleanupLog, []);
        assert.equal(done?.startedAt, null);
        assert.equal(done?.state, 'cancelled');
        assert.equal(done?.cancellation?.phase, 'before-start');
      } else {
        assert.deepEqual(info.cleanupLog, info.cleanupThrows.map((_, i) => i).reverse());
        const expected = info.cleanupThrows.some(Boolean)
          ? 'failed'
          : done?.cancellation != null
            ? 'cancelled'
            : info.failedByTest
              ? 'failed'
              : 'completed';
        assert.equal(done?.state, expected);
      }
    }

    // Progress: parent = own + Σ children of the same unit (folded or not), monotonic.
    if (status !== undefined) {
      const sum = aggregate(info);
      assert.equal(status.progress.completed, sum.completed);
      assert.equal(status.progress.total, sum.bounded ? sum.bound : undefined);
      if (status.progress.total !== undefined) {
        assert.ok(status.progress.completed <= status.progress.total);
      }
      const last = world.lastProgress.get(info.id);
      if (last !== undefined) {
        assert.ok((status.progress.completed ?? Number.NaN) >= last.completed);
        if (last.total !== undefined) {
          assert.ok((status.progress.total ?? Number.NaN) >= last.total);
        }
      }
      world.lastProgress.set(info.id, {
        completed: status.progress.completed,
        total: status.progress.total,
      });
    }
  }

  // BFS: each parent before its children, ids unique, the order of a breadth-first walk.
  for (const status of registered.values()) {
    if (status.parentId !== null) continue;
    const tree = r.recursive(status.id);
    const ids = tree.map((t) => t.id);
    assert.equal(new Set(ids).size, ids.length);
    const bfs: string[] = [status.id];
    for (let i = 0; i < bfs.length; i++) bfs.push(...r.get(bfs[i]!).children);
    assert.deepEqual(ids, bfs);
    tree.forEach((t, i) => {
      if (i > 0) assert.ok(ids.indexOf(t.parentId!) < i);
    });
  }

  // Admission: running tasks per kind never exceed the limit.
  for (const k of r.kinds()) {
    const limit = LIMITS[k.kind] ?? 0;
    if (limit > 0) {
      assert.ok(k.running <= limit);
      assert.ok(k.tokens <= limit);
    }
  }
}

type Cmd = fc.AsyncCommand<object, World>;

class StartCmd implements Cmd {
  constructor(
    readonly kind: string,
    readonly parentPick: number | null,
    readonly abortable: boolean,
    readonly internal: boolean,
    readonly keyPick: number | null,
    readonly cleanupThrows: boolean[],
    readonly honorsAbort: boolean,
    readonly userStarted: boolean,
    readonly unit: string,
    readonly total: number | null,
  ) {}
  check = () => true;
  async run(_: object, w: World): Promise<void> {
    const active = w.tasks.filter((t) => !w.isTerminal(t.id));
    const running = active.filter((t) => w.lastState(t.id) === 'running');
    const parent =
      this.parentPick === null || running.length === 0
        ? undefined
        : running[this.parentPick % running.length];
    const key = this.keyPick === null ? undefined : `key-${this.keyPick}`;
    const holder = key === undefined ? undefined : active.find((t) => t.key === key);
    const body = new ControlledBody(this.honorsAbort);
    const cleanupLog: number[] = [];
    const handle = w.registry.start(
      {
        kind: this.kind,
        ...(parent === undefined ? {} : { parentId: parent.id }),
        abortable: this.abortable,
        internal: this.internal,
        ...(key === undefined ? {} : { idempotencyKey: key }),
        userStarted: this.userStarted,
        unit: this.unit,
        ...(this.total === null ? {} : { total: this.total }),
      },
      (ctx: TaskContext) => {
        this.cleanupThrows.forEach((throws, i) => {
          ctx.onCleanup(() => {
            cleanupLog.push(i);
            if (throws) throw new Error(`cleanup ${i}`);
          });
        });
        return body.body(ctx);
      },
    );
    if (holder !== undefined) {
      expect(handle).toMatchObject({ id: holder.id, deduplicated: true });
    } else {
      expect(handle.deduplicated).toBe(false);
      expect(w.byId.has(handle.id)).toBe(false);
      const info: TaskInfo = {
        id: handle.id,
        parent,
        kind: this.kind,
        unit: this.unit,
        key,
        userStarted: this.userStarted,
        children: [],
        body,
        cleanupThrows: this.cleanupThrows,
        cleanupLog,
        own: { completed: 0, total: this.total ?? undefined },
        failedByTest: false,
        doneStatus: undefined,
      };
      void handle.done.then((s) => {
        info.doneStatus = s;
      });
      w.tasks.push(info);
      w.byId.set(info.id, info);
      parent?.children.push(info);
    }
    await settle();
  }
  toString = () =>
    `start(${this.kind},p=${this.parentPick},ab=${this.abortable},key=${this.keyPick},cl=${this.cleanupThrows.map(Number).join('')},honor=${this.honorsAbort},u=${this.unit},t=${this.total})`;
}

class SettleBodyCmd implements Cmd {
  constructor(
    readonly pick: number,
    readonly ok: boolean,
  ) {}
  check = () => true;
  async run(_: object, w: World): Promise<void> {
    const open = w.tasks.filter((t) => t.body.started && !t.body.settled);
    const info = open[this.pick % Math.max(1, open.length)];
    if (info === undefined) return;
    if (this.ok) info.body.complete();
    else {
      info.failedByTest = true;
      info.body.fail(new Error('boom'));
    }
    await settle();
  }
  toString = () => `${this.ok ? 'complete' : 'fail'}(${this.pick})`;
}

class AbortCmd implements Cmd {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_: object, w: World): Promise<void> {
    const info = w.tasks[this.pick % Math.max(1, w.tasks.length)];
    if (info === undefined) return;
    const r = w.registry;
    const before = r.find(info.id);
    const eventCount = w.events.length;
    if (before === undefined) {
      expect(() => r.abort(info.id)).toThrow(TaskNotFoundError);
      return;
    }
    const tree = r.recursive(info.id);
    if (isTerminalState(before.state) || info.body.settled) {
      // Completion wins: a late abort is a no-op.
      expect(r.abort(info.id)).toBe(false);
      expect(w.events.length).toBe(eventCount);
      await settle();
      expect(r.recursive(info.id)).toEqual(tree);
      return;
    }
    if (!before.abortable) {
      expect(() => r.abort(info.id)).toThrow(NotAbortableError);
      expect(w.events.length).toBe(eventCount);
      await settle();
      expect(r.recursive(info.id)).toEqual(tree);
      return;
    }
    // Whom the cascade reaches: the target, and abortable descendants through abortable paths.
    const reached: TaskInfo[] = [];
    const walk = (t: TaskInfo): void => {
      reached.push(t);
      for (const c of t.children) {
        if (!w.isTerminal(c.id) && r.find(c.id)?.abortable) walk(c);
      }
    };
    walk(info);
    const wasPending = new Set(
      reached.filter((t) => ['created', 'pending'].includes(w.lastState(t.id))).map((t) => t.id),
    );
    const wasRunning = reached.filter((t) => w.lastState(t.id) === 'running' && !t.body.settled);
    // Non-abortable subtrees are skipped: nothing in them changes.
    const skipped: TaskInfo[] = [];
    const collect = (t: TaskInfo): void => {
      skipped.push(t);
      t.children.forEach(collect);
    };
    for (const t of reached) {
      for (const c of t.children) if (!reached.includes(c)) collect(c);
    }
    const untouched = skipped.filter((t) => !w.isTerminal(t.id) && !t.body.ctx?.signal.aborted);
    const untouchedStates = untouched.map((t) => w.lastState(t.id));
    expect(r.abort(info.id)).toBe(true);
    expect(untouched.map((t) => w.lastState(t.id))).toEqual(untouchedStates);
    for (const t of untouched) expect(t.body.ctx?.signal.aborted ?? false).toBe(false);
    for (const id of wasPending) expect(w.lastState(id)).toBe('cancelled');
    for (const t of wasRunning) expect(t.body.ctx?.signal.aborted).toBe(true);
    await settle();
    for (const id of wasPending) expect(w.byId.get(id)?.body.started).toBe(false);
  }
  toString = () => `abort(${this.pick})`;
}

class ProgressCmd implements Cmd {
  constructor(
    readonly pick: number,
    readonly inc: number,
    readonly raiseTotal: number | null,
    readonly regress: boolean,
  ) {}
  check = () => true;
  async run(_: object, w: World): Promise<void> {
    const open = w.tasks.filter((t) => t.body.started && !t.body.settled && !w.isTerminal(t.id));
    const info = open[this.pick % Math.max(1, open.length)];
    if (info === undefined || info.body.ctx === undefined) return;
    const ctx = info.body.ctx;
    if (this.regress && info.own.completed > 0) {
      ctx.updateProgress(info.own.completed - 1); // ignored: progress is monotonic
    } else {
      const total =
        this.raiseTotal === null
          ? info.own.total
          : Math.max(info.own.total ?? 0, info.own.completed + this.inc + this.raiseTotal);
      const completed = Math.min(info.own.completed + this.inc, total ?? Number.POSITIVE_INFINITY);
      ctx.updateProgress(completed, this.raiseTotal === null ? undefined : total);
      info.own = { completed: Math.max(info.own.completed, completed), total };
    }
    ctx.addStats({ records: this.inc, bytes: this.inc * 10 });
    await settle();
  }
  toString = () => `progress(${this.pick},+${this.inc},total+${this.raiseTotal},r=${this.regress})`;
}

class TickCmd implements Cmd {
  /** `ms`, or (`toExpiry`) exactly up to the next TTL expiry of a finished root, minus `ms % 2`. */
  constructor(
    readonly ms: number,
    readonly toExpiry: boolean,
  ) {}
  check = () => true;
  async run(_: object, w: World): Promise<void> {
    let ms = this.ms;
    if (this.toExpiry) {
      const expiries = w.tasks
        .filter((t) => t.parent === undefined && !w.removedRoots.has(t.id) && w.isTerminal(t.id))
        .map(
          (t) => w.stateEvents(t.id).at(-1)!.at + (t.userStarted ? w.ttl.userTtlMs : w.ttl.ttlMs),
        );
      const next = Math.min(...expiries) - (this.ms % 2);
      ms = Number.isFinite(next) ? Math.max(0, next - w.clock.now()) : 0;
    }
    w.clock.advance(ms);
    w.applyTtl();
    await settle();
  }
  toString = () => `tick(${this.ms}${this.toExpiry ? ',to-expiry' : ''})`;
}

class SetTtlCmd implements Cmd {
  constructor(
    readonly ttlMs: number,
    readonly userTtlMs: number,
  ) {}
  check = () => true;
  async run(_: object, w: World): Promise<void> {
    w.ttl = { ttlMs: this.ttlMs, userTtlMs: this.userTtlMs };
    expect(w.registry.setTtl(w.ttl)).toEqual(w.ttl);
    w.applyTtl();
    await settle();
  }
  toString = () => `ttl(${this.ttlMs},${this.userTtlMs})`;
}

class DrainCmd implements Cmd {
  check = () => true;
  async run(_: object, w: World): Promise<void> {
    const finishedRoots = w.tasks
      .filter((t) => t.parent === undefined && !w.removedRoots.has(t.id) && w.isTerminal(t.id))
      .map((t) => t.id);
    expect(w.registry.drain().sort()).toEqual(finishedRoots.sort());
    for (const id of finishedRoots) w.removedRoots.add(id);
    await settle();
  }
  toString = () => 'drain';
}

class ReadCmd implements Cmd {
  check = () => true;
  async run(_: object, w: World): Promise<void> {
    const a = w.readAll();
    await settle();
    expect(w.readAll()).toEqual(a);
  }
  toString = () => 'read';
}

const startCommand = fc
  .record({
    kind: fc.constantFrom(...KINDS),
    parentPick: fc.option(fc.nat(20), { nil: null, freq: 3 }),
    abortable: fc.oneof(
      { arbitrary: fc.constant(true), weight: 4 },
      { arbitrary: fc.constant(false), weight: 1 },
    ),
    internal: fc.boolean(),
    keyPick: fc.option(fc.nat(2), { nil: null, freq: 2 }),
    cleanupThrows: fc.array(fc.boolean(), { maxLength: 3 }),
    honorsAbort: fc.boolean(),
    userStarted: fc.boolean(),
    unit: fc.constantFrom(...UNITS),
    total: fc.option(fc.nat(20), { nil: null }),
  })
  .map(
    (s) =>
      new StartCmd(
        s.kind,
        s.parentPick,
        s.abortable,
        s.internal,
        s.keyPick,
        s.cleanupThrows,
        s.honorsAbort,
        s.userStarted,
        s.unit,
        s.total,
      ),
  );
const settleCommand = fc
  .tuple(fc.nat(20), fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, fc.constant(false)))
  .map(([p, ok]) => new SettleBodyCmd(p, ok));

/** Starts and body completions are weighted up so that trees grow deep enough. */
const commands = [
  startCommand,
  startCommand,
  startCommand,
  settleCommand,
  settleCommand,
  fc.nat(30).map((p) => new AbortCmd(p)),
  fc
    .tuple(
      fc.nat(20),
      fc.integer({ min: 1, max: 5 }),
      fc.option(fc.nat(5), { nil: null }),
      fc.boolean(),
    )
    .map(([p, inc, raise, regress]) => new ProgressCmd(p, inc, raise, regress)),
  fc
    .tuple(fc.integer({ min: 1, max: 120 }), fc.boolean())
    .map(([ms, toExpiry]) => new TickCmd(ms, toExpiry)),
  fc.tuple(fc.constantFrom(...TTLS), fc.constantFrom(...TTLS)).map(([a, b]) => new SetTtlCmd(a, b)),
  fc.constant(new DrainCmd()),
  fc.constant(new ReadCmd()),
];

/** Ends every body, lets admission drain, and checks that every token came back. */
async function finishEverything(w: World): Promise<void> {
  for (let round = 0; round < 100; round++) {
    for (const t of w.tasks) if (t.body.started && !t.body.settled) t.body.complete();
    await settle();
    if (w.tasks.every((t) => w.isTerminal(t.id))) break;
  }
  expect(w.tasks.every((t) => w.isTerminal(t.id))).toBe(true);
  checkInvariants(w);
  for (const k of w.registry.kinds()) {
    expect(k).toMatchObject({ running: 0, pending: 0, tokens: 0 });
  }
  for (const t of w.tasks) expect(t.doneStatus).toBeDefined();
}

describe('TaskRegistry (model-based)', () => {
  it('keeps every invariant under random starts, aborts, failures, ticks, TTL changes and drains', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('never' as const, 'on-pending' as const, 'on-running' as const),
        fc.commands(commands, { maxCommands: 60, size: 'max' }),
        async (listenerAborts, cmds) => {
          const world = new World(listenerAborts);
          await fc.asyncModelRun(
            () => ({ model: {}, real: world }),
            [...cmds].map((cmd) => wrapWithInvariants(cmd)),
          );
          await finishEverything(world);
          world.registry.close();
        },
      ),
      { numRuns: 150 },
    );
  });
});

function wrapWithInvariants(cmd: Cmd): Cmd {
  return {
    check: (m) => cmd.check(m),
    run: async (m, w) => {
      await cmd.run(m, w);
      checkInvariants(w);
    },
    toString: () => cmd.toString(),
  };
}
