import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setImmediate as nextImmediate, setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretRedactor } from '../../src/config/secret-redactor.js';
import type { OutputMessage } from '../../src/protocol/messages.js';
import { OutputWriter } from '../../src/protocol/output-writer.js';
import { echoStateLine } from '../../src/protocol/state-echo.js';

interface Sink {
  stream: Writable;
  /** Each chunk as handed to `_write`. */
  chunks: Buffer[];
  /** Number of `_write` calls completed (callback called). */
  completed(): number;
  /** Calls to `stream.write` made while the stream had asked to wait for 'drain'. */
  writesWhileBlocked(): number;
  text(): string;
}

/** A real Writable with a tiny high-water mark and a slow asynchronous `_write`. */
function slowSink(options: { highWaterMark?: number; delay?: () => Promise<void> } = {}): Sink {
  const chunks: Buffer[] = [];
  let completed = 0;
  let writesWhileBlocked = 0;
  const delay = options.delay ?? (() => sleep(1));
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 8,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      delay().then(() => {
        completed++;
        callback();
      });
    },
  });
  const write = stream.write.bind(stream) as (chunk: Buffer, cb?: () => void) => boolean;
  stream.write = ((chunk: Buffer, cb?: () => void) => {
    if (stream.writableNeedDrain) writesWhileBlocked++;
    return write(chunk, cb);
  }) as typeof stream.write;
  return {
    stream,
    chunks,
    completed: () => completed,
    writesWhileBlocked: () => writesWhileBlocked,
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

const log = (message: string): OutputMessage => ({ type: 'LOG', log: { level: 'INFO', message } });

describe(OutputWriter, () => {
  describe('under backpressure', () => {
    it('delivers every line once, in order, whole, waiting on ready() when blocked', async () => {
      const sink = slowSink({ highWaterMark: 8 });
      const writer = new OutputWriter(sink.stream, new SecretRedactor(), {
        chunkBytes: 64,
        highWaterMark: 256,
      });
      const expected: string[] = [];
      let waits = 0;
      for (let i = 0; i < 300; i++) {
        const message = log(`line ${i} ${'é'.repeat(i % 7)}`);
        writer.write(message);
        expected.push(JSON.stringify(message));
        if (writer.blocked) {
          waits++;
          await writer.ready();
          expect(writer.blocked).toBe(false);
        }
      }
      await writer.flush();
      expect(waits).toBeGreaterThan(0);
      // flush resolved only after every write callback ran.
      expect(sink.completed()).toBe(sink.chunks.length);
      expect(sink.writesWhileBlocked()).toBe(0);
      for (const chunk of sink.chunks) expect(chunk.at(-1)).toBe(10);
      expect(sink.text()).toBe(`${expected.join('\n')}\n`);
    });

    it('keeps ready() pending while blocked and resolves it once the stream catches up', async () => {
      const gate: (() => void)[] = [];
      const sink = slowSink({
        highWaterMark: 1,
        delay: () => new Promise<void>((resolve) => gate.push(resolve)),
      });
      const writer = new OutputWriter(sink.stream, new SecretRedactor(), {
        chunkBytes: 1,
        highWaterMark: 10,
      });
      writer.writeLine('12345');
      writer.writeLine('67890');
      expect(writer.blocked).toBe(true);
      let resolved = false;
      const ready = writer.ready().then(() => {
        resolved = true;
      });
      await sleep(5);
      expect(resolved).toBe(false);
      expect(writer.blocked).toBe(true);
      gate.shift()?.(); // the first line is written; the second is handed over on 'drain'
      await sleep(5);
      expect(writer.blocked).toBe(false);
      await ready;
      expect(resolved).toBe(true);
      gate.shift()?.();
      await writer.flush();
      expect(sink.text()).toBe('12345\n67890\n');
    });

    it('keeps buffering while the stream waits for drain', async () => {
      const sink = slowSink({ highWaterMark: 1 });
      const writer = new OutputWriter(sink.stream, new SecretRedactor(), { chunkBytes: 1 });
      writer.writeLine('first');
      writer.writeLine('second');
      writer.writeLine('third');
      // Only the first line reached the stream; the rest waits for 'drain'.
      expect(sink.chunks.map(String)).toEqual(['first\n']);
      await writer.flush();
      expect(sink.text()).toBe('first\nsecond\nthird\n');
      expect(sink.chunks.length).toBe(2); // second and third coalesced after the drain
      expect(sink.writesWhileBlocked()).toBe(0);
    });

    it('property: random lines, sizes and delays arrive exactly once, in order', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constant('x'.repeat(300))),
            { maxLength: 60 },
          ),
          fc.integer({ min: 1, max: 128 }),
          fc.integer({ min: 1, max: 512 }),
          fc.integer({ min: 1, max: 64 }),
          fc.array(fc.constantFrom('now', 'immediate', 'timer'), { minLength: 1 }),
          fc.boolean(),
          async (texts, chunkBytes, highWaterMark, streamHwm, delays, awaitReady) => {
            let d = 0;
            const delay = () => {
              const kind = delays[d++ % delays.length];
              return kind === 'now'
                ? Promise.resolve()
                : kind === 'immediate'
                  ? nextImmediate()
                  : sleep(0);
            };
            const sink = slowSink({ highWaterMark: streamHwm, delay });
            const writer = new OutputWriter(sink.stream, new SecretRedactor(), {
              chunkBytes,
              highWaterMark,
            });
            const expected: string[] = [];
            for (const [i, text] of texts.entries()) {
              if (i % 2 === 0) {
                writer.write(log(text));
                expected.push(JSON.stringify(log(text)));
              } else {
                const line = JSON.stringify({ type: 'STATE', state: { data: { text } } });
                writer.writeLine(line);
                expected.push(line);
              }
              if (awaitReady) await writer.ready();
            }
            await writer.flush();
            expect(sink.completed()).toBe(sink.chunks.length);
            expect(sink.writesWhileBlocked()).toBe(0);
            for (const chunk of sink.chunks) expect(chunk.at(-1)).toBe(10);
            expect(sink.text()).toBe(expected.map((l) => `${l}\n`).join(''));
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe('coalescing', () => {
    it('hands small lines written in one tick to the stream as one chunk', async () => {
      const sink = slowSink({ highWaterMark: 1024 });
      const writer = new OutputWriter(sink.stream, new SecretRedactor());
      for (let i = 0; i < 10; i++) writer.writeLine(`{"n":${i}}`);
      expect(sink.chunks).toHaveLength(0);
      await nextImmediate();
      expect(sink.chunks).toHaveLength(1);
      await writer.flush();
    });

    it('writes at once when chunkBytes are buffered', () => {
      const sink = slowSink({ highWaterMark: 1024 });
      const writer = new OutputWriter(sink.stream, new SecretRedactor(), { chunkBytes: 10 });
      writer.writeLine('0123456789');
      expect(sink.chunks.map(String)).toEqual(['0123456789\n']);
    });
  });

  describe('redaction', () => {
    it('redacts LOG, TRACE and CONNECTION_STATUS but leaves STATE bytes untouched', async () => {
      const redactor = new SecretRedactor();
      redactor.add('hunter2');
      const sink = slowSink({ highWaterMark: 1024 });
      const writer = new OutputWriter(sink.stream, redactor);
      writer.write(log('password is hunter2'));
      writer.write({
        type: 'TRACE',
        trace: {
          type: 'ERROR',
          emitted_at: 1,
          error: {
            message: 'auth failed for hunter2',
            internal_message: 'x hunter2',
            stack_trace: 'at hunter2',
            failure_type: 'config_error',
          },
        },
      });
      writer.write({
        type: 'CONNECTION_STATUS',
        connectionStatus: { status: 'FAILED', message: 'bad hunter2' },
      });
      const raw = Buffer.from(
        '{"type":"STATE","state":{"type":"LEGACY","data":{"token":"hunter2","n":100.0,"big":12345678901234567890},"id":1}}',
      );
      const echoed = echoStateLine(raw, 3);
      writer.writeLine(echoed);
      writer.write({ type: 'STATE', state: { type: 'LEGACY', data: { token: 'hunter2' } } });
      await writer.flush();
      const lines = sink.text().split('\n');
      expect(lines).toHaveLength(6);
      for (const line of lines.slice(0, 3)) {
        expect(line).not.toContain('hunter2');
        expect(line).toContain('****');
      }
      expect(JSON.parse(lines[1] ?? '').trace.error).toEqual({
        message: 'auth failed for ****',
        internal_message: 'x ****',
        stack_trace: 'at ****',
        failure_type: 'config_error',
      });
      expect(Buffer.from(lines[3] ?? '').equals(echoed)).toBe(true);
      expect(lines[3]).toContain('"n":100.0,"big":12345678901234567890');
      expect(lines[4]).toBe(
        '{"type":"STATE","state":{"type":"LEGACY","data":{"token":"hunter2"}}}',
      );
      expect(lines[5]).toBe('');
    });
  });

  describe('.writeLine', () => {
    it.each(['a\nb', 'a\r\n', '\n'])('rejects %j, which is not exactly one line', (line) => {
      const writer = new OutputWriter(slowSink().stream, new SecretRedactor());
      expect(() => writer.writeLine(line)).toThrow(/exactly one line/);
      expect(() => writer.writeLine(Buffer.from(line))).toThrow(/exactly one line/);
    });
  });

  describe('stream failures', () => {
    it('rejects flush and ready with the write error, and drops later lines quietly', async () => {
      const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
      const stream = new Writable({
        write(_chunk, _encoding, callback) {
          setImmediate(() => callback(epipe));
        },
      });
      const writer = new OutputWriter(stream, new SecretRedactor());
      writer.writeLine('one');
      await expect(writer.flush()).rejects.toBe(epipe);
      expect(writer.error).toBe(epipe);
      expect(() => writer.writeLine('two')).not.toThrow();
      await expect(writer.flush()).rejects.toBe(epipe);
      await expect(writer.ready()).rejects.toBe(epipe);
      expect(writer.blocked).toBe(false);
    });

    it('rejects a pending ready() when the stream is destroyed while blocked', async () => {
      const stream = new Writable({
        highWaterMark: 1,
        write() {
          // never completes: the reader is stuck
        },
      });
      const writer = new OutputWriter(stream, new SecretRedactor(), {
        chunkBytes: 1,
        highWaterMark: 4,
      });
      writer.writeLine('stuck');
      writer.writeLine('more');
      expect(writer.blocked).toBe(true);
      const ready = writer.ready();
      const flushed = writer.flush();
      stream.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      await expect(ready).rejects.toThrow('EPIPE');
      await expect(flushed).rejects.toThrow('EPIPE');
    });

    it('rejects flush when the stream closes with output still pending', async () => {
      const stream = new Writable({ highWaterMark: 1, write() {} });
      const writer = new OutputWriter(stream, new SecretRedactor(), { chunkBytes: 1 });
      writer.writeLine('a');
      writer.writeLine('b');
      const flushed = writer.flush();
      stream.destroy();
      await expect(flushed).rejects.toThrow(/closed before all output was written/);
    });

    describe('with a real socket whose reader went away', () => {
      let dir: string | undefined;
      afterEach(() => {
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      });

      it('captures EPIPE/ECONNRESET and surfaces it through flush()', async () => {
        dir = mkdtempSync(join(tmpdir(), 'destkit-out-'));
        const path = join(dir, 'sock');
        const server = net.createServer((socket) => socket.destroy());
        await new Promise<void>((resolve) => server.listen(path, resolve));
        const socket = net.connect(path);
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
        const writer = new OutputWriter(socket, new SecretRedactor(), { highWaterMark: 1 << 16 });
        let failure: unknown;
        for (let i = 0; i < 2000 && failure === undefined; i++) {
          writer.writeLine(`{"n":${i},"pad":"${'x'.repeat(1000)}"}`);
          await writer.ready().catch((error: unknown) => {
            failure = error;
          });
        }
        await writer.flush().catch((error: unknown) => {
          failure ??= error;
        });
        expect((failure as NodeJS.ErrnoException | undefined)?.code).toMatch(
          /^(EPIPE|ECONNRESET)$/,
        );
        socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });
    });
  });
});
