/**
 * What a CommonJS launcher runs (`main.cjs`, which connectors/bundle-executables.ts bundles in
 * front of an ES-module executable `main.js`): a command line that only prints a spec is answered
 * at once; any other one is handed to `main.js`.
 *
 * Why a CommonJS file: the executables' shebang passes `--max-semi-space-size`, and with that V8
 * flag node rejects the code cache of its own ES-module loader, so that loading any ES module
 * adds some 20–30 ms to a start. A CommonJS script started with the same flag costs a few ms.
 * A plain `spec` is the command an orchestrator runs most often and expects to be quick.
 *
 * Keep this module's imports light, and static: bundled as CommonJS, every module it reaches
 * (dynamic `import()`s included) is read and run by a plain `spec`.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startInputWorkerEarly } from '../pipeline/early-input-worker.js';
import type { ConnectorSpecification } from '../protocol/messages.js';
import { processIo } from './cli-io.js';
import { exitWhenFlushed, exitWith, guardAgainstSilentExit } from './process-exit.js';
import { isPlainSpec, writeSpec } from './spec-command.js';

/** The spec a command line only prints, or `undefined` when it does more. */
export type SpecToPrint = (args: readonly string[]) => ConnectorSpecification | undefined;

/**
 * The input worker script (a path) of the sync a command line runs, to start it ahead
 * (early-input-worker.ts), or `undefined` when the command line runs no sync that destkit knows
 * the script of.
 */
export type WorkerToStart = (args: readonly string[]) => string | undefined;

/**
 * Prints the spec and exits, as `main.js` would, when `specToPrint` gives one for the command
 * line; else imports `main` (a file path), which runs the same command line (`process.argv`),
 * after starting the input worker thread of a `write` (`workerToStart`).
 */
export function launch(
  specToPrint: SpecToPrint,
  main: string,
  args: readonly string[] = process.argv.slice(2),
  workerToStart?: WorkerToStart,
): void {
  const spec = specToPrint(args);
  if (spec !== undefined) {
    guardAgainstSilentExit();
    exitWith(writeSpec(spec, processIo()));
    return;
  }
  const worker = workerToStart?.(args);
  if (worker !== undefined) startInputWorkerEarly(worker);
  import(pathToFileURL(main).href).catch((error: unknown) => {
    process.stderr.write(
      `destkit: cannot load ${main}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    exitWhenFlushed(1);
  });
}

/** A connector executable's: a plain `spec` (see `isPlainSpec`) prints the connector's spec. */
export function connectorSpec(spec: ConnectorSpecification): SpecToPrint {
  return (args) => (isPlainSpec(args) ? spec : undefined);
}

/** A connector executable's: a `write` runs the input worker script in `dir`, the executable's. */
export function connectorWorker(dir: string): WorkerToStart {
  return ([command]) => (command === 'write' ? join(dir, 'input-worker.js') : undefined);
}

/**
 * The destkit CLI's: `destkit <first-party name> write` runs the input worker script of that
 * connector's bundle, in `connectorsDir/destination-<name>`.
 */
export function firstPartyWorker(connectorsDir: string, names: readonly string[]): WorkerToStart {
  const known = new Set(names);
  return ([name, command]) =>
    name !== undefined && known.has(name) && command === 'write'
      ? join(connectorsDir, `destination-${name}`, 'input-worker.js')
      : undefined;
}

/** The destkit CLI's: `destkit <first-party name> spec` prints that connector's spec. */
export function firstPartySpec(
  specs: Readonly<Record<string, ConnectorSpecification>>,
): SpecToPrint {
  // A Map: a name such as `constructor` or `__proto__` must not find an object's own members.
  const byName = new Map(Object.entries(specs));
  return ([name, ...rest]) =>
    name !== undefined && isPlainSpec(rest) ? byName.get(name) : undefined;
}
