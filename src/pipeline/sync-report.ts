/**
 * The final report of a sync (`write --report FILE`): JSON written when the sync ends, on
 * success and on failure, plus a short text summary. Built from the launcher's ledger, the task
 * tree (queue and run times, failure paths) and the channels (blocked time). Errors are
 * redacted; no record data is ever included.
 */
import type { SecretRedactor } from '../config/secret-redactor.js';
import { classifyError } from '../errors/classify-error.js';
import { describeStream } from '../protocol/messages.js';
import type { ChannelSnapshot } from '../runtime/channel-snapshot.js';
import type { MemoryBudgetSnapshot } from '../runtime/memory-budget.js';
import type { TaskStatus } from '../runtime/task.js';
import type { TaskRegistry } from '../runtime/task-registry.js';
import type { StreamSummary, SyncOutcome } from './destination-task-launcher.js';

export interface ReportedError {
  readonly message: string;
  readonly failureType: string;
  readonly internalMessage: string;
}

export interface StreamReport {
  readonly namespace: string | null;
  readonly name: string;
  readonly status: string;
  readonly recordsRead: number;
  readonly recordsPersisted: number;
  /** Records the destination refused; destkit's own connectors null bad values instead (0). */
  readonly recordsRejected: number;
  readonly bytesRead: number;
  readonly batches: number;
  /** Summed over the stream's tasks: time waiting to run, and running. */
  readonly queueMs: number;
  readonly runMs: number;
  /** Time the stream's tasks reported blocked on backpressure. */
  readonly blockedMs: number;
}

export interface FailurePathStep {
  readonly id: string;
  readonly kind: string;
  readonly state: string;
  readonly error: string | null;
}

export interface SyncReport {
  readonly outcome: 'succeeded' | 'failed' | 'cancelled';
  readonly connector: string;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly error: ReportedError | null;
  readonly statesEchoed: number;
  readonly totals: {
    readonly recordsRead: number;
    readonly recordsPersisted: number;
    readonly bytesRead: number;
  };
  readonly streams: readonly StreamReport[];
  readonly channels: readonly {
    name: string;
    blockedMs: number;
    highWaterMark: number;
    capacity: number;
    in: number;
    out: number;
  }[];
  readonly memory: MemoryBudgetSnapshot;
  /** Each failed task with its path from the root, root first. */
  readonly failurePaths: readonly (readonly FailurePathStep[])[];
  /** Failures after the first one (closing loaders, teardown, cleanups), redacted. */
  readonly cleanupFailures: readonly string[];
}

export interface ReportInputs {
  readonly connector: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly outcome:
    | SyncOutcome
    | {
        readonly status: 'failed';
        readonly error: unknown;
        readonly suppressed: readonly unknown[];
      };
  readonly streams: readonly StreamSummary[];
  readonly registry: TaskRegistry | undefined;
  readonly rootId: string | undefined;
  readonly channels: readonly ChannelSnapshot[];
  readonly memory: MemoryBudgetSnapshot | undefined;
  readonly redactor: SecretRedactor;
}

function reportedError(error: unknown, redactor: SecretRedactor): ReportedError {
  const c = classifyError(error);
  return {
    message: redactor.redactText(c.message),
    failureType: c.failureType,
    internalMessage: redactor.redactText(c.internalMessage),
  };
}

function failurePaths(registry: TaskRegistry, rootId: string): FailurePathStep[][] {
  const tasks = registry.recursive(rootId);
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const step = (t: TaskStatus): FailurePathStep => ({
    id: t.id,
    kind: t.kind,
    state: t.state,
    error: t.error?.message ?? null,
  });
  return tasks
    .filter((t) => t.state === 'failed' && t.id !== rootId)
    .map((failed) => {
      const path: FailurePathStep[] = [];
      for (
        let t: TaskStatus | undefined = failed;
        t !== undefined;
        t = t.parentId === null ? undefined : byId.get(t.parentId)
      ) {
        path.unshift(step(t));
      }
      return path;
    });
}

/**
 * A stream's times: from the stats the launcher kept when the stream task finished, else (a
 * stream task still running) from the registry. A finished task's status does not stay there:
 * it is evicted once `foldedStatusLimit` later tasks (mostly batch tasks) have finished.
 */
function streamTimes(registry: TaskRegistry | undefined, summary: StreamSummary) {
  let stats = summary.taskStats;
  if (stats === undefined && summary.taskId !== undefined) {
    const status = registry?.find(summary.taskId);
    if (status !== undefined) stats = { own: status.stats, folded: status.foldedStats };
  }
  if (stats === undefined) return { queueMs: 0, runMs: 0, blockedMs: 0 };
  return {
    queueMs: Math.round(stats.folded.queueMs + stats.own.queueMs),
    runMs: Math.round(stats.folded.runMs),
    blockedMs: Math.round(stats.folded.blockedMs + stats.own.blockedMs),
  };
}

export function buildSyncReport(inputs: ReportInputs): SyncReport {
  const { outcome, registry, rootId, redactor } = inputs;
  const streams: StreamReport[] = inputs.streams.map((s) => ({
    namespace: s.stream.namespace ?? null,
    name: s.stream.name,
    status: s.status,
    recordsRead: s.recordsRead,
    recordsPersisted: s.recordsPersisted,
    recordsRejected: 0,
    bytesRead: s.bytesRead,
    batches: s.batches,
    ...streamTimes(registry, s),
  }));
  const error = outcome.error === undefined ? null : reportedError(outcome.error, redactor);
  return {
    outcome: outcome.status,
    connector: inputs.connector,
    startedAt: new Date(inputs.startedAt).toISOString(),
    endedAt: new Date(inputs.endedAt).toISOString(),
    durationMs: inputs.endedAt - inputs.startedAt,
    error,
    statesEchoed: 'statesEchoed' in outcome ? outcome.statesEchoed : 0,
    totals: {
      recordsRead: streams.reduce((n, s) => n + s.recordsRead, 0),
      recordsPersisted: streams.reduce((n, s) => n + s.recordsPersisted, 0),
      bytesRead: streams.reduce((n, s) => n + s.bytesRead, 0),
    },
    streams,
    channels: inputs.channels.map((c) => ({
      name: redactor.redactText(c.name),
      blockedMs: Math.round(c.blockedMs),
      highWaterMark: c.highWaterMark,
      capacity: c.capacity,
      in: c.in,
      out: c.out,
    })),
    memory: inputs.memory ?? {
      capacity: 0,
      reserved: 0,
      available: 0,
      waiting: 0,
      highWaterMark: 0,
      blockedMs: 0,
    },
    failurePaths:
      registry !== undefined && rootId !== undefined ? failurePaths(registry, rootId) : [],
    cleanupFailures: outcome.suppressed.map((e) => reportedError(e, redactor).message),
  };
}

const MB = 1024 * 1024;

/** A few lines for people, e.g. at the end of stderr. */
export function renderReportSummary(report: SyncReport): string {
  const seconds = (report.durationMs / 1000).toFixed(2);
  const head =
    `destkit: sync ${report.outcome} in ${seconds} s: ${report.totals.recordsRead} records ` +
    `(${(report.totals.bytesRead / MB).toFixed(1)} MiB) read, ${report.totals.recordsPersisted} persisted, ` +
    `${report.statesEchoed} states echoed`;
  const width = Math.min(40, Math.max(6, ...report.streams.map((s) => describeStream(s).length)));
  const rows = report.streams.map((s) => {
    const name = describeStream(s).slice(0, 40).padEnd(width);
    return `  ${name}  ${String(s.recordsRead).padStart(10)} read  ${String(s.recordsPersisted).padStart(10)} persisted  ${String(s.batches).padStart(5)} batches  ${s.status}`;
  });
  const blocked = report.channels
    .filter((c) => c.blockedMs > 0)
    .map((c) => `${c.name} ${c.blockedMs} ms`);
  const lines = [head, ...rows];
  if (blocked.length > 0) lines.push(`  blocked: ${blocked.join(', ')}`);
  if (report.error !== null)
    lines.push(`  error (${report.error.failureType}): ${report.error.message}`);
  return `${lines.join('\n')}\n`;
}
