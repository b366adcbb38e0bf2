import { describe, expect, it, vi } from 'vitest';
import { resolveCatalog } from '../../src/catalog/destination-catalog.js';
import { classifyError } from '../../src/errors/classify-error.js';
import { ConfigError } from '../../src/errors/destkit-error.js';
import type { Batch, StreamLoader } from '../../src/write/destination-writer.js';
import {
  ConnectorCallError,
  ConnectorTimeoutError,
  callConnector,
  GuardedStreamLoader,
  LoaderLifecycleError,
} from '../../src/write/guarded-stream-loader.js';
import { catalog } from '../helpers/messages.js';

const stream = resolveCatalog(catalog([{ name: 'orders' }])).streams[0]!;

function recordingLoader(overrides: Partial<StreamLoader> = {}) {
  const calls: string[] = [];
  const loader: StreamLoader = {
    stream,
    async start() {
      calls.push('start');
    },
    createBatchAccumulator() {
      return {
        async processRecords(): Promise<Batch> {
          calls.push('processRecords');
          return { state: 'PERSISTED' };
        },
      };
    },
    async processBatch(batch) {
      calls.push('processBatch');
      return batch;
    },
    async close(failure?: unknown) {
      calls.push(failure === undefined ? 'close' : 'close(failure)');
    },
    ...overrides,
  };
  return { loader, calls };
}

describe(GuardedStreamLoader, () => {
  it('starts once and closes once', async () => {
    const { loader, calls } = recordingLoader();
    const guarded = new GuardedStreamLoader(loader, stream, 1000);
    await guarded.start();
    await expect(guarded.start()).rejects.toThrow(LoaderLifecycleError);
    expect(await guarded.close()).toBe(true);
    expect(await guarded.close(new Error('late'))).toBe(false);
    expect(calls).toEqual(['start', 'close']);
  });

  it('never closes a loader whose start failed', async () => {
    const { loader, calls } = recordingLoader({
      async start() {
        throw new Error('cannot create table');
      },
    });
    const guarded = new GuardedStreamLoader(loader, stream, 1000);
    await expect(guarded.start()).rejects.toThrow(
      'connector call start for stream orders failed: cannot create table',
    );
    expect(await guarded.close(new Error('x'))).toBe(false);
    expect(calls).toEqual([]);
  });

  it('refuses work before start', async () => {
    const { loader } = recordingLoader();
    const guarded = new GuardedStreamLoader(loader, stream, 1000);
    expect(() => guarded.createBatchAccumulator()).toThrow(LoaderLifecycleError);
    await expect(guarded.processBatch({ state: 'STAGED' })).rejects.toThrow(LoaderLifecycleError);
  });

  it('passes the failure to close', async () => {
    const { loader, calls } = recordingLoader();
    const guarded = new GuardedStreamLoader(loader, stream, 1000);
    await guarded.start();
    await guarded.close(new Error('boom'));
    expect(calls).toEqual(['start', 'close(failure)']);
  });

  it('times out a call that never settles, as a transient error', async () => {
    const { loader } = recordingLoader({ processBatch: () => new Promise<Batch>(() => undefined) });
    const guarded = new GuardedStreamLoader(loader, stream, 20);
    await guarded.start();
    const error = await guarded.processBatch({ state: 'STAGED' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorTimeoutError);
    expect(classifyError(error).failureType).toBe('transient_error');
    expect((error as Error).message).toBe(
      'connector call processBatch for stream orders did not finish within 20 ms',
    );
  });

  it('keeps a connector DestkitError as it is and wraps anything else as system_error', async () => {
    const configError = new ConfigError('permission denied on schema x');
    const { loader } = recordingLoader({
      async processBatch() {
        throw configError;
      },
    });
    const guarded = new GuardedStreamLoader(loader, stream, 1000);
    await guarded.start();
    await expect(guarded.processBatch({ state: 'STAGED' })).rejects.toBe(configError);

    const { loader: plain } = recordingLoader({
      async processBatch() {
        throw new TypeError('undefined is not a function');
      },
    });
    const guardedPlain = new GuardedStreamLoader(plain, stream, 1000);
    await guardedPlain.start();
    const error = await guardedPlain.processBatch({ state: 'STAGED' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorCallError);
    expect(classifyError(error)).toMatchObject({
      failureType: 'system_error',
      message: 'connector call processBatch for stream orders failed: undefined is not a function',
      stream: { name: 'orders' },
    });
  });
});

describe(callConnector, () => {
  it('runs the call after the caller returns, never inside its turn', async () => {
    let ran = false;
    const call = callConnector('setup', undefined, 1000, () => {
      ran = true;
      return 'ready';
    });
    expect(ran).toBe(false);
    await expect(call).resolves.toBe('ready');
    expect(ran).toBe(true);
  });

  it('resolves a plain value and classifies a synchronous throw as a failed call', async () => {
    await expect(callConnector('close', stream, 1000, () => 7)).resolves.toBe(7);
    const error = await callConnector('close', stream, 1000, () => {
      throw new RangeError('bad state');
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorCallError);
    expect((error as Error).message).toBe(
      'connector call close for stream orders failed: bad state',
    );
  });

  it('keeps its first outcome: a call that settles after its timeout changes nothing', async () => {
    let settle!: (value: string) => void;
    let fail!: (error: Error) => void;
    const late = callConnector(
      'processBatch',
      stream,
      10,
      () =>
        new Promise<string>((resolve, reject) => {
          settle = resolve;
          fail = reject;
        }),
    );
    const error = await late.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorTimeoutError);
    settle('too late');
    fail(new Error('also too late'));
    await expect(late).rejects.toBe(error);
  });

  it('clears its timer once the call settles', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const call = callConnector('start', stream, 30_000, async () => 'started');
      expect(vi.getTimerCount()).toBe(1);
      await expect(call).resolves.toBe('started');
      expect(vi.getTimerCount()).toBe(0);
      const failed = callConnector('start', stream, 30_000, async () => {
        throw new Error('no');
      });
      await expect(failed).rejects.toBeInstanceOf(ConnectorCallError);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
