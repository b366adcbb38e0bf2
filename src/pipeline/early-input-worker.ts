/**
 * The input worker thread of a `write`, started by an executable's launcher before anything else
 * loads (src/cli/spec-launcher.ts), so that the thread's own start (~100 ms of Node loading its
 * modules and the worker's script) overlaps the main thread's: loading destkit and the
 * connector, reading the config and catalog. The sync takes it over (StartedInputWorker) when it
 * runs the same script; otherwise it is stopped, and until then it keeps nothing alive.
 *
 * Light on purpose: the launchers bundle this module, and a plain `spec` runs them.
 */
import { pathToFileURL } from 'node:url';

/** Young generation of the input worker's heap, in MiB: it holds only a few chunks' garbage. */
export const WORKER_YOUNG_GENERATION_MB = 8;

/** Where the launcher leaves the thread it started, on `globalThis`. */
const EARLY = Symbol.for('destkit.early-input-worker');

/** A thread started ahead: its script (a file URL) and how it ended, if it did. */
export interface EarlyInputWorker {
  readonly script: string;
  readonly worker: import('node:worker_threads').Worker;
  failure: unknown;
}

/**
 * Starts the input worker script `script` (a path) for a `write` to take over, unless the
 * environment turns input workers off. Best effort: when the thread cannot be started here, the
 * sync starts its own.
 */
export function startInputWorkerEarly(
  script: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): void {
  const knob = env.DESTKIT_INPUT_WORKERS;
  if (knob !== undefined && Number(knob) === 0) return;
  // Not a static import: a plain `spec` runs the launcher and should not load worker_threads
  // (`getBuiltinModule` is in Node 20.16 and later; without it the sync starts the thread).
  const threads = process.getBuiltinModule?.('node:worker_threads') as
    | typeof import('node:worker_threads')
    | undefined;
  if (threads === undefined) return;
  try {
    const worker = new threads.Worker(script, {
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    worker.unref();
    const early: EarlyInputWorker = {
      script: pathToFileURL(script).href,
      worker,
      failure: undefined,
    };
    worker.on('error', (error) => {
      early.failure ??= error;
    });
    worker.on('exit', (code) => {
      early.failure ??= new Error(`exited with code ${code}`);
    });
    (globalThis as Record<symbol, unknown>)[EARLY] = early;
  } catch {
    // The sync starts its own thread.
  }
}

/**
 * The thread a launcher started for `script` (a file URL), taken: it is no longer anyone
 * else's. A thread started for another script is stopped; so is any thread, when `script` is
 * undefined (the sync reads its input without one).
 */
export function takeEarlyInputWorker(script: string | undefined): EarlyInputWorker | undefined {
  const global = globalThis as Record<symbol, unknown>;
  const early = global[EARLY] as EarlyInputWorker | undefined;
  if (early === undefined) return undefined;
  delete global[EARLY];
  if (early.script === script) return early;
  void early.worker.terminate();
  return undefined;
}
