/**
 * The runtime knobs of a sync: one documented options object, defaults applied once.
 *
 * Precedence (highest first): the connector config's optional `destkit` object (snake_case
 * keys, e.g. `{"destkit": {"batch_size_bytes": 1048576}}`), then environment variables
 * (`DESTKIT_` + the upper-case snake_case name, e.g. `DESTKIT_BATCH_SIZE_BYTES`), then the
 * defaults below. Every value is validated; a bad value is a config_error naming its source.
 */
import { tmpdir } from 'node:os';
import { ConfigError } from '../errors/destkit-error.js';

export interface Knobs {
  /** Records of a stream are handed to the connector in batches of about this many input bytes. Default 16 MiB. */
  readonly batchSizeBytes: number;
  /** A batch older than this is flushed even if small, so states keep moving. Default 60 s. */
  readonly flushWindowMs: number;
  /** Forced checkpoint flush: states are echoed at least this often when possible. Default 15 min. */
  readonly maxCheckpointWindowMs: number;
  /** Bytes of input that may be held in memory at once; 0 = derived from memory limits. Default 0. */
  readonly memoryBudgetBytes: number;
  /** Bytes of spill files on disk at once. Default 5 GiB. */
  readonly diskBudgetBytes: number;
  /** Workers that feed records to the connector. Default 2. */
  readonly processRecordsWorkers: number;
  /** Workers that move batches forward (processBatch). Default 2. */
  readonly processBatchWorkers: number;
  /**
   * Input worker threads: 1 = a worker thread reads, splits and validates the input and groups
   * each stream's records while the main thread routes them and runs the connector (faster);
   * 0 = everything on the main thread. Default 1.
   */
  readonly inputWorkers: number;
  /** Depth of the queue of spill files waiting for a worker. Default 8. */
  readonly fileQueueDepth: number;
  /**
   * Depth of the queue of batches waiting for processBatch. Default 2: a waiting batch is the
   * connector's (a staged batch may hold its output in memory, outside the memory budget), and
   * two keep both ProcessBatch workers fed.
   */
  readonly batchQueueDepth: number;
  /** How long tasks get to finish after the sync ends before they are reported hung. Default 10 s. */
  readonly graceTimeoutMs: number;
  /** Where spill files go. Default: the OS temp dir. */
  readonly tempDir: string;
  /** The longest accepted input line. Default 100 MiB. */
  readonly maxLineBytes: number;
  /** Timeout of every call into connector code. Default 1 h. */
  readonly connectorCallTimeoutMs: number;
  /**
   * Garbage the main thread's old generation may hold above what was live at its last full
   * collection (at least half as much again) before destkit asks V8 for a full collection (see
   * HeapTrim); 0 = V8's own schedule only. Default 4 MiB.
   */
  readonly heapSlackBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_KNOBS: Knobs = Object.freeze({
  batchSizeBytes: 16 * MiB,
  flushWindowMs: 60_000,
  maxCheckpointWindowMs: 15 * 60_000,
  memoryBudgetBytes: 0,
  diskBudgetBytes: 5 * 1024 * MiB,
  processRecordsWorkers: 2,
  processBatchWorkers: 2,
  inputWorkers: 1,
  fileQueueDepth: 8,
  batchQueueDepth: 2,
  graceTimeoutMs: 10_000,
  tempDir: tmpdir(),
  maxLineBytes: 100 * MiB,
  connectorCallTimeoutMs: 60 * 60_000,
  heapSlackBytes: 4 * MiB,
});

type NumericKnob = Exclude<keyof Knobs, 'tempDir'>;

/** Minimum value of each numeric knob (memoryBudgetBytes 0 means "derive"). */
const MINIMUM: Record<NumericKnob, number> = {
  batchSizeBytes: 1,
  flushWindowMs: 1,
  maxCheckpointWindowMs: 1,
  memoryBudgetBytes: 0,
  diskBudgetBytes: 1,
  processRecordsWorkers: 1,
  processBatchWorkers: 1,
  inputWorkers: 0,
  fileQueueDepth: 1,
  batchQueueDepth: 1,
  graceTimeoutMs: 0,
  maxLineBytes: 1,
  connectorCallTimeoutMs: 1,
  heapSlackBytes: 0,
};

/** Maximum value of the knobs that have one. */
const MAXIMUM: Partial<Record<NumericKnob, number>> = { inputWorkers: 1 };

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export class InvalidKnobError extends ConfigError {
  override readonly code = 'KNOB_INVALID';
}

function parseNumber(source: string, raw: unknown, min: number, max?: number): number {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (
    typeof n !== 'number' ||
    !Number.isSafeInteger(n) ||
    n < min ||
    (max !== undefined && n > max)
  ) {
    throw new InvalidKnobError(
      max === undefined
        ? `${source} must be an integer >= ${min}`
        : `${source} must be an integer from ${min} to ${max}`,
    );
  }
  return n;
}

/** Resolves the knobs from the environment and the connector config's `destkit` object. */
export function resolveKnobs(
  env: Readonly<Record<string, string | undefined>> = process.env,
  fromConfig: unknown = undefined,
  overrides: Partial<Knobs> = {},
): Knobs {
  const resolved: Record<string, number | string> = { ...DEFAULT_KNOBS };
  const configObject =
    typeof fromConfig === 'object' && fromConfig !== null && !Array.isArray(fromConfig)
      ? (fromConfig as Record<string, unknown>)
      : {};
  const known = new Set(Object.keys(DEFAULT_KNOBS).map(snakeCase));
  for (const key of Object.keys(configObject)) {
    if (!known.has(key)) {
      throw new InvalidKnobError(
        `config.destkit.${key} is not a known knob (known: ${[...known].join(', ')})`,
      );
    }
  }
  for (const name of Object.keys(DEFAULT_KNOBS) as (keyof Knobs)[]) {
    const snake = snakeCase(name);
    const envName = `DESTKIT_${snake.toUpperCase()}`;
    const sources: [string, unknown][] = [
      [`config.destkit.${snake}`, configObject[snake]],
      [envName, env[envName]],
    ];
    for (const [source, raw] of sources) {
      if (raw === undefined || raw === '') continue;
      if (name === 'tempDir') {
        if (typeof raw !== 'string') throw new InvalidKnobError(`${source} must be a string path`);
        resolved[name] = raw;
      } else {
        resolved[name] = parseNumber(source, raw, MINIMUM[name], MAXIMUM[name]);
      }
      break;
    }
  }
  return Object.freeze({ ...(resolved as unknown as Knobs), ...overrides });
}
