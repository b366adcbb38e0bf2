/** Test helpers for the task runtime: flushing microtasks and bodies driven by the test. */
import type { TaskContext } from '../../src/runtime/task-context.js';

/** Lets every queued microtask and promise continuation run (the registry uses no real timers). */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A body that waits until the test resolves or rejects it. */
export class ControlledBody {
  started = false;
  settled = false;
  ctx: TaskContext | undefined;
  private resolveBody: (() => void) | undefined;
  private rejectBody: ((error: unknown) => void) | undefined;

  /** `honorsAbort`: the body rejects with the signal's reason when it fires. */
  constructor(private readonly honorsAbort = false) {}

  readonly body = (ctx: TaskContext): Promise<void> => {
    this.started = true;
    this.ctx = ctx;
    return new Promise<void>((resolve, reject) => {
      this.resolveBody = resolve;
      this.rejectBody = reject;
      if (this.honorsAbort) {
        ctx.signal.addEventListener('abort', () => this.fail(ctx.signal.reason));
      }
    });
  };

  complete(): void {
    if (this.settled || this.resolveBody === undefined) return;
    this.settled = true;
    this.resolveBody();
  }

  fail(error: unknown = new Error('body failed')): void {
    if (this.settled || this.rejectBody === undefined) return;
    this.settled = true;
    this.rejectBody(error);
  }
}
