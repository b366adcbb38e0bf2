/** Runs the built `destkit` CLI as a child process speaking the protocol over pipes. */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The executables as installed (`bin`): the CommonJS launchers in front of `main.js`. */
export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.cjs', import.meta.url));
export const DEV_NULL_MAIN = fileURLToPath(
  new URL('../../dist/connectors/destination-dev-null/main.cjs', import.meta.url),
);

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string | Buffer;
  /** Run with this file as stdin (a regular file descriptor) instead of a pipe. */
  stdinFile?: string;
  env?: Record<string, string>;
  /** Called once the child started; may write to stdin or send signals. */
  onStart?: (child: import('node:child_process').ChildProcess) => void;
  /** Keep stdin open (the test closes or signals). */
  keepStdinOpen?: boolean;
  script?: string;
  /** Flags of node itself, before the script. */
  nodeFlags?: string[];
}

export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const file = options.stdinFile === undefined ? undefined : openSync(options.stdinFile, 'r');
    const child = spawn(
      process.execPath,
      [...(options.nodeFlags ?? []), options.script ?? CLI, ...args],
      {
        env: { ...process.env, ...options.env },
        stdio: [file ?? 'pipe', 'pipe', 'pipe'],
      },
    );
    if (file !== undefined) closeSync(file);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdin?.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin?.write(options.stdin);
    if (!options.keepStdinOpen) child.stdin?.end();
    options.onStart?.(child);
  });
}

/** A temp dir with the given JSON files written; returns their paths. */
export function writeJsonFiles(files: Record<string, unknown>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'destkit-test-'));
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    paths[name] = path;
  }
  return paths;
}

export function lines(...messages: unknown[]): string {
  return `${messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join('\n')}\n`;
}
