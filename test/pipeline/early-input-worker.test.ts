/**
 * The input worker thread a launcher starts ahead (early-input-worker.ts): taken once, and only
 * for the script it runs; not started when the environment turns input workers off. Real worker
 * threads running a small echo script.
 */

import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { connectorWorker, firstPartyWorker } from '../../src/cli/spec-launcher.js';
import {
  startInputWorkerEarly,
  takeEarlyInputWorker,
} from '../../src/pipeline/early-input-worker.js';
import { writeJsonFiles } from '../helpers/run-cli.js';

/** A worker script that answers each message with the same message. */
function echoScript(): string {
  const dir = dirname(writeJsonFiles({ 'x.json': {} })['x.json']!);
  const script = join(dir, 'echo-worker.mjs');
  writeFileSync(
    script,
    "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', (m) => parentPort.postMessage(m));\n",
  );
  return script;
}

/** The thread the last `startInputWorkerEarly` left for the sync, not taken. */
function startedThread(): Worker {
  const global = globalThis as Record<symbol, unknown>;
  return (global[Symbol.for('destkit.early-input-worker')] as { worker: Worker }).worker;
}

afterEach(() => {
  // Nothing left for the next test: a thread not taken is stopped by taking it for no script.
  takeEarlyInputWorker('file:///none');
});

describe('startInputWorkerEarly / takeEarlyInputWorker', () => {
  it('hands the running thread over once, to the taker of its script', async () => {
    const script = echoScript();
    startInputWorkerEarly(script, {});
    const early = takeEarlyInputWorker(pathToFileURL(script).href);
    expect(early).toBeDefined();
    expect(takeEarlyInputWorker(pathToFileURL(script).href)).toBeUndefined();
    const worker = early!.worker;
    worker.postMessage('ping');
    const [answer] = await once(worker, 'message');
    expect(answer).toBe('ping');
    expect(early!.failure).toBeUndefined();
    await worker.terminate();
  });

  it.each([
    ['a thread started for another script', (script: string) => pathToFileURL(`${script}.x`).href],
    ['the thread, when the sync reads its input without one', () => undefined],
  ])('stops %s, and gives none', async (_label, takenFor) => {
    const script = echoScript();
    startInputWorkerEarly(script, {});
    const exited = once(startedThread(), 'exit');
    expect(takeEarlyInputWorker(takenFor(script))).toBeUndefined();
    await exited;
    expect(takeEarlyInputWorker(pathToFileURL(script).href)).toBeUndefined();
  });

  it('starts nothing when DESTKIT_INPUT_WORKERS is 0', () => {
    const script = echoScript();
    startInputWorkerEarly(script, { DESTKIT_INPUT_WORKERS: '0' });
    expect(takeEarlyInputWorker(pathToFileURL(script).href)).toBeUndefined();
  });

  it('notes a thread that failed before it was taken', async () => {
    const dir = dirname(echoScript());
    const script = join(dir, 'throwing-worker.mjs');
    writeFileSync(script, "throw new Error('boom');\n");
    startInputWorkerEarly(script, {});
    // (events.once would reject on the 'error' that comes first.)
    await new Promise((resolve) => startedThread().on('exit', resolve));
    const early = takeEarlyInputWorker(pathToFileURL(script).href);
    expect(early?.failure).toBeInstanceOf(Error);
    expect((early!.failure as Error).message).toBe('boom');
  });
});

describe("the launchers' input worker scripts", () => {
  it("a connector executable's: its own script, for write only", () => {
    const start = connectorWorker('/x/destination-a');
    expect(start(['write', '--config', 'c', '--catalog', 'k'])).toBe(
      '/x/destination-a/input-worker.js',
    );
    expect(start(['check', '--config', 'c'])).toBeUndefined();
    expect(start(['spec'])).toBeUndefined();
    expect(start([])).toBeUndefined();
  });

  it("destkit's: the first-party connector's script, for its write only", () => {
    const start = firstPartyWorker('/d/connectors', ['dev-null', 'duckdb']);
    expect(start(['duckdb', 'write', '--config', 'c'])).toBe(
      '/d/connectors/destination-duckdb/input-worker.js',
    );
    expect(start(['duckdb', 'check'])).toBeUndefined();
    expect(start(['./my-connector.js', 'write'])).toBeUndefined();
    expect(start(['__proto__', 'write'])).toBeUndefined();
    expect(start(['write'])).toBeUndefined();
  });
});
