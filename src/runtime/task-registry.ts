/**
 * The task registry: every sync task runs inside one, as a tree (sync → stream → batch work).
 * It admits tasks per kind, runs their bodies with an ambient context, cascades aborts, runs
 * cleanups, folds finished children into their parents, keeps finished roots for a TTL, and
 * emits an event after every state change. Terms are defined in `task.ts`; the lifecycle in
 * `task-state.ts`.
 *
 * Decisions (each pinned by a test):
 * - **All mutations are synchronous.** JavaScript runs one of them at a time, so there is no lock:
 *   the idempotency check and the insert happen with no `await` between them, and events and
 *   AbortSignals fire only after the mutation that caused them is complete.
 * - **Completion wins.** An abort that arrives after the body has settled is a no-op. An abort
 *   that arrives before, makes the task `cancelled` when the body settles, whether the body then
 *   returns or throws (a thrown error is then not recorded).
 * - **Abort is cooperative and cascades** to the descendants, skipping non-abortable ones and
 *   their subtrees. A non-abortable target is refused with `NotAbortableError` and nothing
 *   changes. `shutdown` and a parent's return cancel regardless of the flag: the flag guards
 *   requests from outside, the runtime's own decisions are not refusable.
 * - **No orphans.** When a body settles, its children still active are cancelled and awaited
 *   before its cleanups run, so a finished task never has an unfinished descendant. A child
 *   started under a task that is cancelled or whose body has settled is cancelled before start.
 * - **Cleanup failures fail the task**, whatever the outcome would have been; the body's own
 *   error (if any) stays the task's error and cleanup errors are attached as `suppressed`.
 * - **Folding on finish.** A finished child's stats and progress are added into its parent at
 *   once, and the child leaves the listings (`list`, `recursive`, `children`) unless it failed or
 *   has a failed descendant. The parent's `childCounts` keep counting it. Its final status stays
 *   fetchable by id (`get`, `wait`, a late `abort` is a no-op) for the last `foldedStatusLimit`
 *   folded children, and never after its root is removed.
 * - **Reads never remove anything.** Finished roots leave only by `drain()` or when their TTL
 *   has passed (`now ≥ endedAt + ttl`), on a timer of the injected clock or an explicit
 *   `sweep()`. TTL changes apply to roots that already finished.
 * - **A finished task keeps its status, not its work.** Its body, cleanup handlers, admission
 *   ticket and AbortController (with the listeners its body left on the signal) are let go when
 *   it finishes, so a root kept for its TTL (or a failure path kept listed) does not pin what the
 *   sync's tasks worked on.
 */
import { SecretRedactor } from '../config/secret-redactor.js';
import { classifyError } from '../errors/classify-error.js';
import { abortWatchable, makeWatchable } from './abort-watch.js';
import { AdmissionControl, type AdmissionTicket } from './admission-control.js';
import { type Clock, systemClock, type Timer } from './clock.js';
import { EventDispatcher } from './event-dispatcher.js';
import {
  CleanupFailedError,
  InvalidMeasurementError,
  NotAbortableError,
  ParentNotRunningError,
  TaskCancelledError,
  TaskFinishedError,
  TaskNotFoundError,
} from './runtime-errors.js';
import type {
  StreamKey,
  TaskBody,
  TaskCancellation,
  TaskError,
  TaskHandle,
  TaskSpec,
  TaskStats,
  TaskStatus,
  TerminalCondition,
} from './task.js';
import {
  type CleanupHandler,
  runInTaskContext,
  runOutsideTaskContext,
  type TaskContext,
} from './task-context.js';
import type { TaskEvent, TaskEventListener } from './task-events.js';
import { taskIdFactory } from './task-id.js';
import {
  addSums,
  advanceProgress,
  contribution,
  EMPTY_SUM,
  type ProgressSum,
  type ProgressValue,
  sumToProgress,
  ZERO_PROGRESS,
} from './task-progress.js';
import {
  assertTransition,
  isTerminalState,
  type TaskState,
  type TerminalTaskState,
} from './task-state.js';
import { addStats, EMPTY_STATS, type StatsDelta, statsDeltaProblem } from './task-stats.js';

export interface TaskRegistryOptions {
  /** Time source for timestamps, TTL expiry, throttling and wait timeouts. Default: wall clock. */
  readonly clock?: Clock;
  /** Concurrency limit per kind (0 = unlimited). Default: every kind unlimited. */
  readonly limits?: Readonly<Record<string, number>>;
  /** How long a finished root is kept. Default 1 hour. */
  readonly ttlMs?: number;
  /** How long a finished user-started root is kept. Default 1 hour. */
  readonly userTtlMs?: number;
  /** At most one progress event per task per this many ms; 0 = every update. Default 500. */
  readonly progressIntervalMs?: number;
  /** Redacts recorded errors, cancellation reasons and payloads. Default: no secrets. */
  readonly redactor?: SecretRedactor;
  /** Tasks that `shutdown` on failure leaves running. Default: those with `failTask: true`. */
  readonly keepOnFailure?: (task: TaskStatus) => boolean;
  /** Called when an event listener throws. Default: the error is ignored. */
  readonly onListenerError?: (error: unknown, event: TaskEvent) => void;
  /**
   * How many folded children keep their final status fetchable by id (`get`, `find`, `wait`)
   * after they left the listings; the oldest go first. Default 1000.
   */
  readonly foldedStatusLimit?: number;
  /**
   * Whether bodies and cleanup handlers run with their task as the ambient context
   * (`currentTask()`, through AsyncLocalStorage). Default true. Node then runs a promise hook on
   * every promise of the process, and every promise carries the context: with a thousand
   * streams, about 15 % of a sync's time and 25 MiB of its memory. With false, `currentTask()`
   * throws and `findCurrentTask()` returns undefined in this registry's tasks; pass it where no
   * code uses them.
   */
  readonly ambientContext?: boolean;
}

interface ResolvedRegistryOptions {
  readonly clock: Clock;
  readonly limits: Readonly<Record<string, number>>;
  readonly ttlMs: number;
  readonly userTtlMs: number;
  readonly progressIntervalMs: number;
  readonly redactor: SecretRedactor;
  readonly keepOnFailure: (task: TaskStatus) => boolean;
  readonly onListenerError: (error: unknown, event: TaskEvent) => void;
  readonly foldedStatusLimit: number;
  readonly ambientContext: boolean;
}

const HOUR_MS = 3_600_000;

function resolveOptions(options: TaskRegistryOptions): ResolvedRegistryOptions {
  const resolved: ResolvedRegistryOptions = {
    clock: options.clock ?? systemClock,
    limits: options.limits ?? {},
    ttlMs: options.ttlMs ?? HOUR_MS,
    userTtlMs: options.userTtlMs ?? HOUR_MS,
    progressIntervalMs: options.progressIntervalMs ?? 500,
    redactor: options.redactor ?? new SecretRedactor(),
    keepOnFailure: options.keepOnFailure ?? ((task) => task.failTask),
    onListenerError: options.onListenerError ?? (() => {}),
    foldedStatusLimit: options.foldedStatusLimit ?? 1000,
    ambientContext: options.ambientContext ?? true,
  };
  if (!Number.isInteger(resolved.foldedStatusLimit) || resolved.foldedStatusLimit < 0) {
    throw new RangeError(
      `foldedStatusLimit must be an integer ≥ 0, got ${resolved.foldedStatusLimit}`,
    );
  }
  checkDuration('ttlMs', resolved.ttlMs);
  checkDuration('userTtlMs', resolved.userTtlMs);
  checkDuration('progressIntervalMs', resolved.progressIntervalMs);
  return resolved;
}

function checkDuration(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number of milliseconds ≥ 0, got ${value}`);
  }
}

export interface TaskListFilter {
  readonly kind?: string;
  /** Matches the stream name; the namespace too when given. */
  readonly stream?: StreamKey;
  /** Include internal tasks. Default false. */
  readonly internal?: boolean;
}

export interface KindStatus {
  readonly kind: string;
  /** 0 = unlimited. */
  readonly limit: number;
  readonly running: number;
  /** Created or waiting for admission. */
  readonly pending: number;
  /** Tokens held (running tasks, plus admitted tasks about to start). */
  readonly tokens: number;
}

export interface WaitResult {
  readonly status: TaskStatus;
  readonly timedOut: boolean;
}

export interface TtlSettings {
  readonly ttlMs: number;
  readonly userTtlMs: number;
}

export interface ShutdownOptions {
  readonly outcome: 'success' | 'failure';
  /** How long to wait for the remaining tasks to end. */
  readonly graceMs: number;
  /** The cancellation reason. Default: `end of sync` / `sync failed`. */
  readonly reason?: string;
}

export interface ShutdownResult {
  /** Descendants of the root still unfinished when the grace period ran out. */
  readonly stillRunning: readonly TaskStatus[];
}

interface ResolvedSpec {
  readonly kind: string;
  readonly scope: string;
  readonly stream: StreamKey | null;
  readonly abortable: boolean;
  readonly internal: boolean;
  readonly unit: string;
  readonly idempotencyKey: string | null;
  readonly terminalCondition: TerminalCondition;
  readonly userStarted: boolean;
  readonly failTask: boolean;
}

interface ProgressEmitState {
  lastAt: number | undefined;
  timer: Timer | undefined;
  dirty: boolean;
  last: string | undefined;
}

interface TaskRecord {
  readonly id: string;
  readonly spec: ResolvedSpec;
  readonly parent: TaskRecord | undefined;
  state: TaskState;
  /**
   * Registered children, in start order: live ones and retained failure paths. A set, so that a
   * child folds out in O(1) (a sync's root has a child per stream).
   */
  readonly children: Set<TaskRecord>;
  readonly childCounts: Record<TaskState, number>;
  own: ProgressValue;
  foldedProgress: ProgressSum;
  counters: { blockedMs: number; records: number; bytes: number };
  foldedStats: TaskStats;
  payload: Record<string, unknown>;
  error: TaskError | null;
  cancellation: TaskCancellation | null;
  readonly createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  folded: boolean;
  ticket: AdmissionTicket | undefined;
  hasToken: boolean;
  /**
   * Made when the body first reads its signal (most bodies never do: a signal costs more to
   * create than the rest of a task); dropped when the task finishes, with the listeners its body
   * left on the signal.
   */
  controller: AbortController | undefined;
  /** The reason the signal aborts with, once its abort is due (set with the abort). */
  signalReason: TaskCancelledError | undefined;
  cancelRequested: boolean;
  bodySettled: boolean;
  cleanups: CleanupHandler[];
  readonly progressEmit: ProgressEmitState;
  readonly done: Promise<TaskStatus>;
  readonly resolveDone: (status: TaskStatus) => void;
}

export class TaskRegistry {
  private readonly options: ResolvedRegistryOptions;
  private readonly clock: Clock;
  private readonly admission: AdmissionControl;
  private readonly events: EventDispatcher<TaskEvent>;
  private readonly records = new Map<string, TaskRecord>();
  private readonly roots = new Set<TaskRecord>();
  private readonly activeKeys = new Map<string, TaskRecord>();
  /** Final statuses of folded children, oldest first, with the id of their root. */
  private readonly foldedStatuses = new Map<string, { status: TaskStatus; rootId: string }>();
  private readonly nextId = taskIdFactory();
  private readonly pendingSignals: Array<() => void> = [];
  /** What a task's context asks of its registry. */
  private readonly contextHost: ContextHost = {
    progressChanged: (rec) => {
      this.markProgress(rec);
      this.afterMutation();
    },
    startChild: (rec, spec, body) =>
      this.start(Object.assign({}, spec, { parentId: rec.id }), body),
  };
  private ttl: TtlSettings;
  private seq = 0;
  private expiryTimer: Timer | undefined;

  constructor(options: TaskRegistryOptions = {}) {
    this.options = resolveOptions(options);
    this.clock = this.options.clock;
    this.admission = new AdmissionControl(this.options.limits);
    this.events = new EventDispatcher(this.options.onListenerError);
    this.ttl = { ttlMs: this.options.ttlMs, userTtlMs: this.options.userTtlMs };
  }

  // ── starting ──────────────────────────────────────────────────────────────────────────────

  /**
   * Creates a task and runs `body` once it is admitted (never synchronously inside `start`).
   * If `spec.idempotencyKey` matches an active task, returns that task's handle instead.
   * Throws `TaskNotFoundError` for an unknown parent, `TaskFinishedError` for a finished one,
   * `ParentNotRunningError` for one that has not started (so a task that never ran has no
   * children, and a finished task never has an unfinished descendant).
   */
  start(spec: TaskSpec, body: TaskBody): TaskHandle {
    if (typeof spec.kind !== 'string' || spec.kind.length === 0) {
      throw new TypeError('a task spec needs a non-empty kind');
    }
    const key = spec.idempotencyKey;
    if (key !== undefined) {
      const active = this.activeKeys.get(key);
      if (active !== undefined) return { id: active.id, done: active.done, deduplicated: true };
    }
    const parentId = spec.parentId ?? null;
    const parent = parentId === null ? undefined : this.records.get(parentId);
    if (parentId !== null && parent === undefined) throw new TaskNotFoundError(parentId);
    if (parent !== undefined && isTerminalState(parent.state)) {
      throw new TaskFinishedError(parent.id, 'start a child');
    }
    if (parent !== undefined && parent.state !== 'running') {
      throw new ParentNotRunningError(parent.id, parent.state);
    }
    const resolved = resolveSpec(spec);
    const own = advanceProgress(ZERO_PROGRESS, 0, spec.total);
    if (typeof own === 'string') throw new InvalidMeasurementError('(new task)', own);

    const now = this.clock.now();
    let resolveDone: (status: TaskStatus) => void = () => {};
    const done = new Promise<TaskStatus>((resolve) => {
      resolveDone = resolve;
    });
    const rec: TaskRecord = {
      id: this.nextId(now),
      spec: resolved,
      parent,
      state: 'created',
      children: new Set(),
      childCounts: zeroCounts(),
      own,
      foldedProgress: EMPTY_SUM,
      counters: { blockedMs: 0, records: 0, bytes: 0 },
      foldedStats: EMPTY_STATS,
      payload: { ...(spec.payload ?? {}) },
      error: null,
      cancellation: null,
      createdAt: now,
      startedAt: null,
      endedAt: null,
      folded: false,
      ticket: undefined,
      hasToken: false,
      controller: undefined,
      signalReason: undefined,
      cancelRequested: false,
      bodySettled: false,
      cleanups: [],
      progressEmit: { lastAt: undefined, timer: undefined, dirty: false, last: undefined },
      done,
      resolveDone,
    };
    this.records.set(rec.id, rec);
    if (parent === undefined) this.roots.add(rec);
    else {
      parent.children.add(rec);
      parent.childCounts.created++;
    }
    if (key !== undefined) this.activeKeys.set(key, rec);
    this.emitState(rec, null);
    if (spec.total !== undefined) this.markProgress(rec);

    this.transition(rec, 'pending');
    // A fail task exists to run while its parent is being cancelled (a sync aborted by a user
    // still closes its loaders with the failure), so only a finished parent refuses it.
    const refused =
      parent !== undefined &&
      (parent.bodySettled || (parent.cancelRequested && !resolved.failTask));
    if (refused) {
      this.cancelOne(rec, parent.bodySettled ? 'parent finished' : 'parent cancelled');
    } else {
      rec.ticket = this.admission.request(resolved.kind, () => {
        rec.hasToken = true;
        queueMicrotask(() => this.launch(rec, body));
      });
    }
    this.afterMutation();
    return { id: rec.id, done, deduplicated: false };
  }

  private launch(rec: TaskRecord, body: TaskBody): void {
    if (rec.state !== 'pending') return; // cancelled while admitted: the token is back already
    rec.startedAt = this.clock.now();
    this.transition(rec, 'running');
    this.afterMutation();
    const ctx = this.contextOf(rec);
    const result = this.inContext(ctx, () => {
      try {
        return Promise.resolve(body(ctx));
      } catch (error) {
        return Promise.reject(error);
      }
    });
    void result.then(
      () => this.settle(rec, ctx, { threw: false }),
      (error: unknown) => this.settle(rec, ctx, { threw: true, error }),
    );
  }

  /** The body settled: join the children, run the cleanups, record the outcome. */
  private async settle(
    rec: TaskRecord,
    ctx: TaskContext,
    outcome: { threw: false } | { threw: true; error: unknown },
  ): Promise<void> {
    rec.bodySettled = true;
    const live = liveChildren(rec);
    if (live.length > 0) {
      for (const child of live) this.cancelTree(child, 'parent finished', false);
      this.afterMutation();
      await Promise.all(live.map((c) => c.done));
    }

    const cleanupErrors: unknown[] = [];
    for (let fn = rec.cleanups.pop(); fn !== undefined; fn = rec.cleanups.pop()) {
      const handler = fn;
      try {
        await this.inContext(ctx, handler);
      } catch (error) {
        cleanupErrors.push(error);
      }
    }

    // After a cancellation request the body's own error is not a failure (it usually is the
    // cancellation itself); a cleanup failure always is.
    const bodyError = outcome.threw && !rec.cancelRequested ? { error: outcome.error } : undefined;
    let to: TerminalTaskState = rec.cancelRequested ? 'cancelled' : 'completed';
    let error: TaskError | null = null;
    if (bodyError !== undefined || cleanupErrors.length > 0) {
      to = 'failed';
      const first = bodyError?.error ?? new CleanupFailedError(rec.id, cleanupErrors);
      const suppressed = cleanupErrors.map((e) => this.toTaskError(e));
      const base = this.toTaskError(first);
      error = suppressed.length > 0 ? { ...base, suppressed } : base;
    }
    this.finish(rec, to, error);
    this.afterMutation();
  }

  // ── state changes ────────────────────────────────────────────────────────────────────────

  /** A non-terminal state change: validated first, then applied, then an event. */
  private transition(rec: TaskRecord, to: TaskState): void {
    const from = rec.state;
    assertTransition(rec.id, from, to);
    rec.state = to;
    if (rec.parent !== undefined) {
      rec.parent.childCounts[from]--;
      rec.parent.childCounts[to]++;
    }
    this.emitState(rec, from);
  }

  /** The one terminal transition of a task, with everything that must happen exactly then. */
  private finish(rec: TaskRecord, to: TerminalTaskState, error: TaskError | null): void {
    const from = rec.state;
    assertTransition(rec.id, from, to);
    rec.endedAt = this.clock.now();
    rec.error = error;
    if (rec.hasToken) {
      rec.hasToken = false;
      this.admission.release(rec.spec.kind);
    } else if (rec.ticket !== undefined) {
      this.admission.cancel(rec.ticket);
    }
    // The ticket's grant callback holds the body, the signal the listeners the body left, and
    // through them whatever the body worked on: a finished task kept for its status (a root for
    // its TTL, a failure path) must not pin that.
    rec.ticket = undefined;
    rec.controller = undefined;
    const key = rec.spec.idempotencyKey;
    if (key !== null && this.activeKeys.get(key) === rec) this.activeKeys.delete(key);
    const emit = rec.progressEmit;
    emit.timer?.cancel();
    emit.timer = undefined;
    if (emit.dirty) this.emitProgress(rec);

    rec.state = to;
    const parent = rec.parent;
    if (parent !== undefined) {
      parent.childCounts[from]--;
      parent.childCounts[to]++;
    }
    if (parent !== undefined) rec.folded = true;
    const status = this.snapshot(rec);
    this.emitState(rec, from, status);
    if (parent !== undefined) this.fold(rec, parent, status);
    else this.scheduleExpiry();
    rec.resolveDone(status);
  }

  /** Adds a finished child into its parent; drops it unless it is on a failure path. */
  private fold(child: TaskRecord, parent: TaskRecord, finalStatus: TaskStatus): void {
    parent.foldedStats = addStats(parent.foldedStats, this.totalStats(child));
    if (child.spec.unit === parent.spec.unit) {
      parent.foldedProgress = addSums(parent.foldedProgress, this.progressSum(child));
    }
    if (child.state === 'failed' || child.children.size > 0) return;
    this.records.delete(child.id);
    parent.children.delete(child);
    if (this.options.foldedStatusLimit === 0) return;
    let root = parent;
    while (root.parent !== undefined) root = root.parent;
    this.foldedStatuses.set(child.id, { status: finalStatus, rootId: root.id });
    for (const oldest of this.foldedStatuses.keys()) {
      if (this.foldedStatuses.size <= this.options.foldedStatusLimit) break;
      this.foldedStatuses.delete(oldest);
    }
  }

  // ── cancellation ─────────────────────────────────────────────────────────────────────────

  /**
   * Requests the cancellation of a task and its descendants (non-abortable descendants and
   * their subtrees are skipped). Returns false (a no-op) if the task has finished or its body
   * has already settled: completion wins.
   */
  abort(id: string, reason = 'aborted'): boolean {
    if (this.foldedStatuses.has(id)) return false;
    const rec = this.require(id);
    if (isTerminalState(rec.state) || rec.bodySettled) return false;
    if (!rec.spec.abortable) throw new NotAbortableError(rec.id, rec.spec.kind);
    this.cancelTree(rec, reason, true);
    this.afterMutation();
    return true;
  }

  private cancelTree(rec: TaskRecord, reason: string, respectAbortable: boolean): void {
    this.cancelOne(rec, reason);
    for (const child of [...rec.children]) {
      if (isTerminalState(child.state)) continue;
      if (respectAbortable && !child.spec.abortable) continue;
      this.cancelTree(child, reason, respectAbortable);
    }
  }

  private cancelOne(rec: TaskRecord, reason: string): void {
    const redacted = this.options.redactor.redactText(reason);
    if (rec.state === 'created' || rec.state === 'pending') {
      rec.cancelRequested = true;
      rec.cancellation = { phase: 'before-start', reason: redacted };
      this.finish(rec, 'cancelled', null);
    } else if (rec.state === 'running' && !rec.bodySettled && !rec.cancelRequested) {
      rec.cancelRequested = true;
      rec.cancellation = { phase: 'while-running', reason: redacted };
      const signalReason = new TaskCancelledError(rec.id, redacted);
      this.pendingSignals.push(() => {
        // A signal made later is made aborted (see `signalOf`).
        rec.signalReason = signalReason;
        if (rec.controller !== undefined) abortWatchable(rec.controller, signalReason);
      });
    }
  }

  /**
   * Ends a sync: on success cancels the `until-end-of-sync` descendants of `rootId` (with their
   * subtrees); on failure cancels every descendant except those `keepOnFailure` keeps, their
   * subtrees, and their ancestors (a cancelled parent would cancel them when it returns). Then
   * waits up to `graceMs` for every unfinished descendant, and returns those still unfinished.
   * The root itself is left to its caller. Cancellation ignores the `abortable` flag.
   */
  async shutdown(rootId: string, options: ShutdownOptions): Promise<ShutdownResult> {
    const root = this.require(rootId);
    checkDuration('graceMs', options.graceMs);
    const reason =
      options.reason ?? (options.outcome === 'success' ? 'end of sync' : 'sync failed');
    const kept = (rec: TaskRecord): boolean => this.options.keepOnFailure(this.snapshot(rec));
    // A cancelled task's return cancels its children, so the ancestors of a kept task are kept.
    const shelters = (rec: TaskRecord): boolean =>
      liveChildren(rec).some((c) => kept(c) || shelters(c));
    const visit = (rec: TaskRecord): void => {
      for (const child of [...rec.children]) {
        if (isTerminalState(child.state)) continue;
        if (options.outcome === 'success') {
          if (child.spec.terminalCondition === 'until-end-of-sync') {
            this.cancelTree(child, reason, false);
          } else visit(child);
        } else if (!kept(child)) {
          if (!shelters(child)) this.cancelOne(child, reason);
          visit(child);
        }
      }
    };
    visit(root);
    this.afterMutation();

    const unfinished = this.descendants(root).filter((r) => !isTerminalState(r.state));
    if (unfinished.length > 0) {
      let timer: Timer | undefined;
      await Promise.race([
        Promise.all(unfinished.map((r) => r.done)),
        new Promise<void>((resolve) => {
          timer = this.clock.setTimer(resolve, options.graceMs);
        }),
      ]);
      timer?.cancel();
    }
    return {
      stillRunning: unfinished
        .filter((r) => !isTerminalState(r.state))
        .map((r) => this.snapshot(r)),
    };
  }

  // ── waiting ──────────────────────────────────────────────────────────────────────────────

  /**
   * Resolves with the final status once the task has finished, or with its current status and
   * `timedOut: true` after `timeoutMs` (no timeout when undefined). Rejects with
   * `TaskNotFoundError` for an unknown id.
   */
  wait(id: string, timeoutMs?: number): Promise<WaitResult> {
    const rec = this.records.get(id);
    if (rec === undefined) {
      const folded = this.foldedStatuses.get(id);
      if (folded !== undefined) {
        return Promise.resolve({ status: structuredClone(folded.status), timedOut: false });
      }
      return Promise.reject(new TaskNotFoundError(id));
    }
    if (isTerminalState(rec.state)) {
      return Promise.resolve({ status: this.snapshot(rec), timedOut: false });
    }
    if (timeoutMs === undefined) return rec.done.then((status) => ({ status, timedOut: false }));
    checkDuration('timeoutMs', timeoutMs);
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(
        () => resolve({ status: this.snapshot(rec), timedOut: true }),
        timeoutMs,
      );
      void rec.done.then((status) => {
        timer.cancel();
        resolve({ status, timedOut: false });
      });
    });
  }

  /**
   * Resolves once no registered child of the task is unfinished, children started meanwhile
   * included (at once for a finished or folded task). Rejects with `TaskNotFoundError` for an
   * unknown id.
   */
  async childrenEnded(id: string): Promise<void> {
    if (this.foldedStatuses.has(id)) return;
    const rec = this.require(id);
    for (;;) {
      const live = liveChildren(rec);
      if (live.length === 0) return;
      await Promise.all(live.map((c) => c.done));
    }
  }

  // ── reads (never mutate) ─────────────────────────────────────────────────────────────────

  /** The status of a registered task; throws `TaskNotFoundError` otherwise. */
  get(id: string): TaskStatus {
    const status = this.find(id);
    if (status === undefined) throw new TaskNotFoundError(id);
    return status;
  }

  /** The status of a registered task (or a recently folded child), or undefined. */
  find(id: string): TaskStatus | undefined {
    const rec = this.records.get(id);
    if (rec !== undefined) return this.snapshot(rec);
    const folded = this.foldedStatuses.get(id);
    return folded === undefined ? undefined : structuredClone(folded.status);
  }

  /** Registered tasks in creation order; internal ones only when `filter.internal`. */
  list(filter: TaskListFilter = {}): TaskStatus[] {
    const out: TaskStatus[] = [];
    for (const rec of this.records.values()) {
      if (rec.spec.internal && filter.internal !== true) continue;
      if (filter.kind !== undefined && rec.spec.kind !== filter.kind) continue;
      if (filter.stream !== undefined && !streamMatches(rec.spec.stream, filter.stream)) continue;
      out.push(this.snapshot(rec));
    }
    return out;
  }

  /** The task and its registered descendants, breadth-first: each parent before its children. */
  recursive(id: string): TaskStatus[] {
    const folded = this.foldedStatuses.get(id);
    if (folded !== undefined) return [structuredClone(folded.status)];
    const root = this.require(id);
    return [root, ...this.descendants(root)].map((r) => this.snapshot(r));
  }

  /** The registered children of a task. */
  children(id: string): TaskStatus[] {
    if (this.foldedStatuses.has(id)) return [];
    return Array.from(this.require(id).children, (c) => this.snapshot(c));
  }

  /** Every kind with a limit or a registered task: its limit, running, pending and tokens. */
  kinds(): KindStatus[] {
    const rows = new Map<
      string,
      { limit: number; running: number; pending: number; tokens: number }
    >();
    for (const a of this.admission.snapshot()) {
      rows.set(a.kind, { limit: a.limit, running: 0, pending: 0, tokens: a.held });
    }
    for (const rec of this.records.values()) {
      let row = rows.get(rec.spec.kind);
      if (row === undefined) {
        row = { limit: 0, running: 0, pending: 0, tokens: 0 };
        rows.set(rec.spec.kind, row);
      }
      if (rec.state === 'running') row.running++;
      else if (rec.state === 'created' || rec.state === 'pending') row.pending++;
    }
    return [...rows.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([kind, row]) => ({ kind, ...row }));
  }

  // ── settings ─────────────────────────────────────────────────────────────────────────────

  /** Sets the concurrency limit of a kind (0 = unlimited); raising it admits waiters. */
  setLimit(kind: string, limit: number): void {
    this.admission.setLimit(kind, limit);
    this.afterMutation();
  }

  getTtl(): TtlSettings {
    return { ...this.ttl };
  }

  /** Changes the TTLs; they apply to roots that have already finished too (swept at once). */
  setTtl(patch: Partial<TtlSettings>): TtlSettings {
    const next = { ...this.ttl, ...definedOnly(patch) };
    checkDuration('ttlMs', next.ttlMs);
    checkDuration('userTtlMs', next.userTtlMs);
    this.ttl = next;
    this.sweep();
    return this.getTtl();
  }

  // ── retention ────────────────────────────────────────────────────────────────────────────

  /** Removes every finished root and its subtree now. Returns the removed roots' ids. */
  drain(): string[] {
    const removed = this.removeRoots(() => true);
    this.scheduleExpiry();
    return removed;
  }

  /** Removes the finished roots whose TTL has passed. Returns their ids. */
  sweep(): string[] {
    const now = this.clock.now();
    const removed = this.removeRoots((root) => now >= this.expiresAt(root));
    this.scheduleExpiry();
    return removed;
  }

  private removeRoots(shouldRemove: (root: TaskRecord) => boolean): string[] {
    const removed: string[] = [];
    for (const root of [...this.roots]) {
      if (!isTerminalState(root.state) || !shouldRemove(root)) continue;
      for (const rec of [root, ...this.descendants(root)]) this.records.delete(rec.id);
      this.roots.delete(root);
      removed.push(root.id);
    }
    if (removed.length > 0) {
      const gone = new Set(removed);
      for (const [id, entry] of this.foldedStatuses) {
        if (gone.has(entry.rootId)) this.foldedStatuses.delete(id);
      }
    }
    return removed;
  }

  private expiresAt(root: TaskRecord): number {
    const ttl = root.spec.userStarted ? this.ttl.userTtlMs : this.ttl.ttlMs;
    return (root.endedAt ?? Number.POSITIVE_INFINITY) + ttl;
  }

  private scheduleExpiry(): void {
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
    let next = Number.POSITIVE_INFINITY;
    for (const root of this.roots) {
      if (isTerminalState(root.state)) next = Math.min(next, this.expiresAt(root));
    }
    if (next === Number.POSITIVE_INFINITY) return;
    this.expiryTimer = this.clock.setTimer(() => {
      this.expiryTimer = undefined;
      this.sweep();
    }, next - this.clock.now());
  }

  // ── events ───────────────────────────────────────────────────────────────────────────────

  /** Adds an event listener; returns the function that removes it. */
  subscribe(listener: TaskEventListener): () => void {
    return this.events.subscribe(listener);
  }

  /** Stops the registry's timers (TTL expiry, progress throttling). Tasks are left alone. */
  close(): void {
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
    for (const rec of this.records.values()) {
      rec.progressEmit.timer?.cancel();
      rec.progressEmit.timer = undefined;
    }
  }

  /**
   * Queues the state event of the change `from → rec.state`. Events exist only for listeners: with
   * none subscribed, no status is built and `seq` does not move.
   */
  private emitState(rec: TaskRecord, from: TaskState | null, finalStatus?: TaskStatus): void {
    if (this.events.listenerCount === 0) return;
    const status = finalStatus ?? this.snapshot(rec);
    this.events.enqueue({
      type: 'state',
      seq: ++this.seq,
      taskId: rec.id,
      from,
      to: rec.state,
      at: this.clock.now(),
      status,
    });
  }

  /** Marks the progress of `rec` and its same-unit ancestors as changed. */
  private markProgress(rec: TaskRecord): void {
    const unit = rec.spec.unit;
    for (
      let r: TaskRecord | undefined = rec;
      r !== undefined && r.spec.unit === unit;
      r = r.parent
    ) {
      this.progressChanged(r);
    }
  }

  private progressChanged(rec: TaskRecord): void {
    if (isTerminalState(rec.state)) return;
    const emit = rec.progressEmit;
    emit.dirty = true;
    // With no listener the change stays dirty: the next change or the end emits it for a listener
    // that subscribed meanwhile.
    if (emit.timer !== undefined || this.events.listenerCount === 0) return;
    const interval = this.options.progressIntervalMs;
    const now = this.clock.now();
    if (interval === 0 || emit.lastAt === undefined || now - emit.lastAt >= interval) {
      this.emitProgress(rec);
      return;
    }
    emit.timer = this.clock.setTimer(
      () => {
        emit.timer = undefined;
        if (emit.dirty && !isTerminalState(rec.state)) {
          this.emitProgress(rec);
          this.afterMutation();
        }
      },
      emit.lastAt + interval - now,
    );
  }

  private emitProgress(rec: TaskRecord): void {
    const emit = rec.progressEmit;
    emit.dirty = false;
    if (this.events.listenerCount === 0) return;
    const progress = sumToProgress(this.progressSum(rec), rec.spec.unit);
    const fingerprint = `${progress.completed}/${progress.total ?? ''}`;
    if (fingerprint === emit.last) return;
    emit.last = fingerprint;
    emit.lastAt = this.clock.now();
    this.events.enqueue({
      type: 'progress',
      seq: ++this.seq,
      taskId: rec.id,
      at: emit.lastAt,
      progress,
    });
  }

  /** Fires the AbortSignals and delivers the events of the mutation that just completed. */
  private afterMutation(): void {
    for (let fire = this.pendingSignals.shift(); fire !== undefined; ) {
      fire();
      fire = this.pendingSignals.shift();
    }
    this.events.flush();
  }

  // ── the ambient context ──────────────────────────────────────────────────────────────────

  /** Runs a body or a cleanup handler: in its task's context, unless that is turned off. */
  private inContext<T>(ctx: TaskContext, fn: () => T): T {
    return this.options.ambientContext ? runInTaskContext(ctx, fn) : runOutsideTaskContext(fn);
  }

  private contextOf(rec: TaskRecord): TaskContext {
    return new RecordContext(rec, this.contextHost);
  }

  // ── snapshots and helpers ────────────────────────────────────────────────────────────────

  private require(id: string): TaskRecord {
    const rec = this.records.get(id);
    if (rec === undefined) throw new TaskNotFoundError(id);
    return rec;
  }

  /** Registered descendants, breadth-first. */
  private descendants(root: TaskRecord): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (let i = -1; i < out.length; i++) {
      const rec = i < 0 ? root : out[i]!;
      out.push(...rec.children);
    }
    return out;
  }

  private progressSum(rec: TaskRecord): ProgressSum {
    let sum = addSums(contribution(rec.own), rec.foldedProgress);
    for (const child of rec.children) {
      if (!child.folded && child.spec.unit === rec.spec.unit) {
        sum = addSums(sum, this.progressSum(child));
      }
    }
    return sum;
  }

  private ownStats(rec: TaskRecord): TaskStats {
    const now = this.clock.now();
    const end = rec.endedAt ?? now;
    return {
      queueMs: (rec.startedAt ?? end) - rec.createdAt,
      runMs: rec.startedAt === null ? 0 : end - rec.startedAt,
      ...rec.counters,
    };
  }

  private totalStats(rec: TaskRecord): TaskStats {
    return addStats(this.ownStats(rec), rec.foldedStats);
  }

  private toTaskError(error: unknown): TaskError {
    const redactor = this.options.redactor;
    const message =
      error instanceof Error
        ? error.message
        : typeof error === 'string'
          ? error
          : `non-error value thrown (${typeof error})`;
    const code =
      typeof error === 'object' &&
      error !== null &&
      'code' in error &&
      typeof error.code === 'string'
        ? error.code
        : undefined;
    const failureType = classifyError(error).failureType;
    return code === undefined
      ? { message: redactor.redactText(message), failureType }
      : { message: redactor.redactText(message), code, failureType };
  }

  private snapshot(rec: TaskRecord): TaskStatus {
    return {
      id: rec.id,
      kind: rec.spec.kind,
      scope: rec.spec.scope,
      parentId: rec.parent?.id ?? null,
      stream: rec.spec.stream === null ? null : { ...rec.spec.stream },
      state: rec.state,
      abortable: rec.spec.abortable,
      internal: rec.spec.internal,
      userStarted: rec.spec.userStarted,
      failTask: rec.spec.failTask,
      terminalCondition: rec.spec.terminalCondition,
      idempotencyKey: rec.spec.idempotencyKey,
      progress: sumToProgress(this.progressSum(rec), rec.spec.unit),
      ownProgress: sumToProgress(contribution(rec.own), rec.spec.unit),
      payload: this.options.redactor.redactValue({ ...rec.payload }),
      error: rec.error,
      cancellation: rec.cancellation,
      createdAt: rec.createdAt,
      startedAt: rec.startedAt,
      endedAt: rec.endedAt,
      stats: this.ownStats(rec),
      foldedStats: rec.foldedStats,
      folded: rec.folded,
      children: Array.from(rec.children, (c) => c.id),
      childCounts: { ...rec.childCounts },
    };
  }
}

interface ContextHost {
  /** The task's own progress changed: mark it and its ancestors, deliver the events. */
  progressChanged(rec: TaskRecord): void;
  startChild(rec: TaskRecord, spec: Omit<TaskSpec, 'parentId'>, body: TaskBody): TaskHandle;
}

/**
 * The context a body gets: one object per task whose methods read its record. A class, not an
 * object literal of closures: a literal with a getter (the lazy signal) is built in V8's slow
 * path, several times the cost of the class, and a thousand streams make thousands of tasks.
 * Its methods are called on the context (`task.addStats(…)`), as methods are.
 */
class RecordContext implements TaskContext {
  readonly id: string;
  readonly kind: string;
  // Private fields: the record (payload, errors) stays out of anything that walks the object.
  readonly #rec: TaskRecord;
  readonly #host: ContextHost;
  #signal: AbortSignal | undefined;

  constructor(rec: TaskRecord, host: ContextHost) {
    this.#rec = rec;
    this.#host = host;
    this.id = rec.id;
    this.kind = rec.spec.kind;
  }

  get signal(): AbortSignal {
    this.#signal ??= signalOf(this.#rec);
    return this.#signal;
  }

  isCancelled(): boolean {
    return this.#rec.cancelRequested;
  }

  throwIfCancelled(): void {
    const rec = this.#rec;
    if (rec.cancelRequested) {
      throw new TaskCancelledError(rec.id, rec.cancellation?.reason ?? 'cancelled');
    }
  }

  updateProgress(completed: number, total?: number): void {
    const rec = this.#rec;
    this.#live('update progress');
    const next = advanceProgress(rec.own, completed, total);
    if (typeof next === 'string') throw new InvalidMeasurementError(rec.id, next);
    if (next.completed === rec.own.completed && next.total === rec.own.total) return;
    rec.own = next;
    this.#host.progressChanged(rec);
  }

  addStats(delta: StatsDelta): void {
    const rec = this.#rec;
    this.#live('add stats');
    const problem = statsDeltaProblem(delta);
    if (problem !== undefined) throw new InvalidMeasurementError(rec.id, problem);
    rec.counters.records += delta.records ?? 0;
    rec.counters.bytes += delta.bytes ?? 0;
    rec.counters.blockedMs += delta.blockedMs ?? 0;
  }

  setPayload(patch: Readonly<Record<string, unknown>>): void {
    this.#live('set the payload');
    // Object.assign, not a spread: a spread copy that then gets new keys is several times
    // slower on Node 20 (see docs/performance.md); this runs for every batch.
    const next: Record<string, unknown> = Object.assign({}, this.#rec.payload);
    for (const k in patch) {
      if (!Object.hasOwn(patch, k)) continue;
      const v = patch[k];
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    this.#rec.payload = next;
  }

  onCleanup(fn: CleanupHandler): void {
    this.#live('register a cleanup handler');
    this.#rec.cleanups.push(fn);
  }

  startChild(spec: Omit<TaskSpec, 'parentId'>, body: TaskBody): TaskHandle {
    return this.#host.startChild(this.#rec, spec, body);
  }

  #live(operation: string): void {
    if (isTerminalState(this.#rec.state)) throw new TaskFinishedError(this.#rec.id, operation);
  }
}

/**
 * A task's signal, made on first read: aborted already if its abort is due, else kept (until the
 * task finishes) for the registry to abort.
 */
function signalOf(rec: TaskRecord): AbortSignal {
  const controller = new AbortController();
  makeWatchable(controller.signal);
  if (rec.signalReason !== undefined) abortWatchable(controller, rec.signalReason);
  else if (!isTerminalState(rec.state)) rec.controller = controller;
  return controller.signal;
}

function resolveSpec(spec: TaskSpec): ResolvedSpec {
  return {
    kind: spec.kind,
    scope: spec.scope ?? 'task',
    stream:
      spec.stream === undefined
        ? null
        : spec.stream.namespace === undefined
          ? { name: spec.stream.name }
          : { name: spec.stream.name, namespace: spec.stream.namespace },
    abortable: spec.abortable ?? true,
    internal: spec.internal ?? false,
    unit: spec.unit ?? 'items',
    idempotencyKey: spec.idempotencyKey ?? null,
    terminalCondition: spec.terminalCondition ?? 'self-terminating',
    userStarted: spec.userStarted ?? false,
    failTask: spec.failTask ?? false,
  };
}

/** The children of `rec` that have not finished, in start order. */
function liveChildren(rec: TaskRecord): TaskRecord[] {
  const live: TaskRecord[] = [];
  for (const child of rec.children) if (!isTerminalState(child.state)) live.push(child);
  return live;
}

/** A literal (every task makes one): the type checks that it names every state. */
function zeroCounts(): Record<TaskState, number> {
  return { created: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
}

function streamMatches(stream: StreamKey | null, filter: StreamKey): boolean {
  if (stream === null || stream.name !== filter.name) return false;
  return filter.namespace === undefined || stream.namespace === filter.namespace;
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
