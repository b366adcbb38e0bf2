/**
 * The bench input: `destkit generate` output in a file, reused by later runs with the same
 * parameters (a `.meta.json` next to it records the parameters and what the file holds).
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BenchContext, BenchInput } from '../scenario.js';
import { describeFailure, runChild } from './child.js';

export interface InputParameters {
  readonly records: number;
  readonly streams: number;
  readonly stateEvery: number;
  readonly recordBytes: number;
}

const RECORD_PREFIX = Buffer.from('{"type":"RECORD"');
const STATE_PREFIX = Buffer.from('{"type":"STATE"');

function startsWith(buffer: Buffer, at: number, end: number, prefix: Buffer): boolean {
  return (
    end - at >= prefix.length &&
    buffer.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0
  );
}

/** Counts the lines, RECORD lines and STATE lines of a generated messages file. */
export async function countMessages(
  path: string,
): Promise<{ lines: number; records: number; states: number }> {
  const handle = await open(path, 'r');
  let lines = 0;
  let records = 0;
  let states = 0;
  let carry: Buffer | undefined;
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20 })) {
      const buffer: Buffer = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
      let start = 0;
      for (let end = buffer.indexOf(10, start); end !== -1; end = buffer.indexOf(10, start)) {
        if (end > start) {
          lines++;
          if (startsWith(buffer, start, end, RECORD_PREFIX)) records++;
          else if (startsWith(buffer, start, end, STATE_PREFIX)) states++;
        }
        start = end + 1;
      }
      carry = start < buffer.length ? buffer.subarray(start) : undefined;
    }
  } finally {
    await handle.close();
  }
  if (carry !== undefined && carry.length > 0) throw new Error(`${path}: last line has no newline`);
  return { lines, records, states };
}

/** Generates the input into `dir` unless a file with the same parameters is there already. */
export async function ensureInput(
  cli: string,
  dir: string,
  p: InputParameters,
  log: (message: string) => void,
): Promise<BenchInput> {
  await mkdir(dir, { recursive: true });
  const base = `messages-r${p.records}-s${p.streams}-e${p.stateEvery}-b${p.recordBytes}`;
  const path = join(dir, `${base}.jsonl`);
  const catalogPath = join(dir, `${base}.catalog.json`);
  const metaPath = join(dir, `${base}.meta.json`);
  if (existsSync(metaPath) && existsSync(path) && existsSync(catalogPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as BenchInput;
      if (meta.bytes === statSync(path).size && meta.records === p.records) {
        log(`reusing input ${path}`);
        return { ...meta, path, catalogPath };
      }
    } catch {
      // regenerate
    }
  }
  log(`generating ${p.records} records into ${path}`);
  await rm(metaPath, { force: true });
  const partial = `${path}.partial`;
  const fd = openSync(partial, 'w');
  let run: Awaited<ReturnType<typeof runChild>>;
  try {
    run = await runChild(
      process.execPath,
      [
        cli,
        'generate',
        '--records',
        String(p.records),
        '--streams',
        String(p.streams),
        '--state-every',
        String(p.stateEvery),
        '--record-bytes',
        String(p.recordBytes),
        '--catalog',
        catalogPath,
      ],
      {},
      undefined,
      fd,
    );
  } finally {
    closeSync(fd);
  }
  if (run.exitCode !== 0) throw new Error(describeFailure(run, 'destkit generate'));
  renameSync(partial, path);
  const counts = await countMessages(path);
  if (counts.records !== p.records)
    throw new Error(`generated ${counts.records} records instead of ${p.records}`);
  const input: BenchInput = {
    path,
    catalogPath,
    ...counts,
    bytes: statSync(path).size,
    streams: p.streams,
    stateEvery: p.stateEvery,
    recordBytes: p.recordBytes,
  };
  await writeFile(metaPath, `${JSON.stringify(input, null, 2)}\n`);
  return input;
}

/**
 * A scenario's own input: generated next to the run's main input (the bench folder) with these
 * parameters, or reused when an earlier run made it.
 */
export function scenarioInput(ctx: BenchContext, parameters: InputParameters): Promise<BenchInput> {
  return ensureInput(ctx.cli, dirname(ctx.input.path), parameters, (message) => ctx.log(message));
}

/** The input a scenario's setup generated; throws when setup did not run. */
export function generatedInput(input: BenchInput | undefined, scenario: string): BenchInput {
  if (input === undefined) throw new Error(`scenario ${scenario}: setup did not run`);
  return input;
}
