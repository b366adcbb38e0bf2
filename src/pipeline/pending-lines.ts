/**
 * Records read and not sent yet, per stream, and the rules of when they go: the in-thread
 * InputConsumer and the input worker both group records with this, so both send the same runs
 * for the same limit. A stream's lines are sent as one run once they reach STREAM_SEND_BYTES,
 * every stream's once the input they hold on to reaches the limit (TOTAL_SEND_BYTES unless the
 * owner gives another), and before any message that needs them (`concernedStreams`).
 *
 * Pending lines are views of the input's chunks (line-splitter.ts), so what they hold on to is
 * not their own bytes but every chunk from the one holding the oldest pending line on: a sparse
 * stream's single line keeps its whole chunk. The limit is therefore on that span of input (the
 * owner says how much input it pushed, `read`), which bounds the memory held by pending lines to
 * the limit plus one chunk, however the streams interleave.
 */
import type { InputMessage, RecordInput } from '../protocol/input-message.js';
import { streamKey } from '../protocol/messages.js';
import { buildRun, type LineRun } from './line-run.js';

/** A stream's pending records are sent once they reach this many bytes… */
export const STREAM_SEND_BYTES = 64 * 1024;
/** …or all pending records once they hold on to this much input (the default limit). */
export const TOTAL_SEND_BYTES = 4 * 1024 * 1024;

interface Pending<D> {
  readonly data: D;
  readonly lines: Buffer[];
  bytes: number;
  /** Input read (`read`) when the stream's first pending line came. */
  readonly since: number;
}

/** Pending lines by stream `K`, each stream with the data `D` it got when its first line came. */
export class PendingLines<K, D> {
  /** Insertion order is the order of each stream's oldest pending line. */
  readonly #streams = new Map<K, Pending<D>>();
  #bytes = 0;
  /** Input bytes pushed so far. */
  #read = 0;
  /** `since` of the oldest pending stream; undefined when none is pending or not known. */
  #oldest: number | undefined;

  /** `limit`: the input pending lines may hold on to before every stream is sent. */
  constructor(readonly limit: number = TOTAL_SEND_BYTES) {}

  /** True when no line is pending. */
  get empty(): boolean {
    return this.#streams.size === 0;
  }

  /**
   * The owner pushed `bytes` more input to its splitter (lines added from now on lie in it). True
   * when every stream is due now (`due()`): the pending lines hold on to the limit, though no
   * record came (other messages, blank lines); they go before the new chunk's lines.
   */
  read(bytes: number): boolean {
    this.#read += bytes;
    return this.#allDue();
  }

  /**
   * Adds a line (a view of the input: it is copied when sent) of stream `key`; `open` gives the
   * stream's data when it has no pending lines. True when something is due now (`due(key)`).
   */
  add(key: K, line: Buffer, open: () => D): boolean {
    let pending = this.#streams.get(key);
    if (pending === undefined) {
      pending = { data: open(), lines: [], bytes: 0, since: this.#read };
      this.#streams.set(key, pending);
    }
    pending.lines.push(line);
    pending.bytes += line.length;
    this.#bytes += line.length;
    return pending.bytes >= STREAM_SEND_BYTES || this.#allDue();
  }

  /** True when the pending lines hold on to `limit` bytes of input or more. */
  #allDue(): boolean {
    if (this.#streams.size === 0) return false;
    if (this.#oldest === undefined) {
      const first = this.#streams.values().next().value as Pending<D>;
      this.#oldest = first.since;
    }
    // `since` is where the oldest line's chunk ends: held is that chunk and everything after it.
    return this.#read - this.#oldest >= this.limit;
  }

  /**
   * The streams to send now, oldest first: `only` (once the pending lines hold on to `limit`
   * bytes of input, every stream), or every stream when `only` is not given.
   */
  due(only?: K): K[] {
    if (this.#streams.size === 0) return [];
    if (only !== undefined && !this.#allDue()) return this.#streams.has(only) ? [only] : [];
    return [...this.#streams.keys()];
  }

  /** Takes a stream's pending lines out, copied into a run. */
  take(key: K): { data: D; run: LineRun; buffer: ArrayBuffer; bytes: number } | undefined {
    const pending = this.#streams.get(key);
    if (pending === undefined) return undefined;
    if (pending.since === this.#oldest) this.#oldest = undefined;
    this.#streams.delete(key);
    this.#bytes -= pending.bytes;
    const { run, buffer } = buildRun(pending.lines, pending.bytes);
    return { data: pending.data, run, buffer, bytes: pending.bytes };
  }

  /** Drops every pending line; returns their bytes. */
  clear(): number {
    const bytes = this.#bytes;
    this.#streams.clear();
    this.#bytes = 0;
    this.#oldest = undefined;
    return bytes;
  }
}

/**
 * The pending records a message needs sent before it: a STREAM state's or a status's stream,
 * every stream for any other state, none for the other messages.
 */
export function concernedStreams(
  message: Exclude<InputMessage, RecordInput>,
): { readonly key: string } | 'all' | undefined {
  if (message.kind === 'stream_status') return { key: message.streamKey };
  if (message.kind !== 'state') return undefined;
  const descriptor =
    message.stateType === 'STREAM' ? message.state.stream?.stream_descriptor : undefined;
  return descriptor === undefined ? 'all' : { key: streamKey(descriptor) };
}
