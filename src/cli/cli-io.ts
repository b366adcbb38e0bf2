/** The process streams a CLI run uses; tests pass their own. */
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  readonly stdin: Readable;
  /** The descriptor behind `stdin`, when it is the process's own (an input worker may read it). */
  readonly stdinFd?: number;
  readonly stdout: Writable;
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Installs a handler for SIGTERM and SIGINT; returns the uninstaller. */
  readonly onSignal: (handler: (signal: NodeJS.Signals) => void) => () => void;
}

/**
 * The process's own streams. They are read when first used: node creates `process.stdin` and
 * `process.stderr` on first access, work a plain `spec` does not need.
 */
export function processIo(): CliIo {
  return {
    get stdin() {
      return process.stdin;
    },
    stdinFd: 0,
    get stdout() {
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
    env: process.env,
    onSignal(handler) {
      process.on('SIGTERM', handler);
      process.on('SIGINT', handler);
      return () => {
        process.off('SIGTERM', handler);
        process.off('SIGINT', handler);
      };
    },
  };
}
