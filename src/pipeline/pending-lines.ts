/**
 * Records read and not sent yet, per stream, and the rules of when they go: the in-thread
 * InputConsumer and the input worker both group records with this, so both send the same runs.
 * A stream's lines are sent as one run once they reach STREAM_SEND_BYTES, every stream's once all
 * reach TOTAL_SEND_BYTES, and before any message that needs them (`concernedStreams`).
 */
import type { InputMessage, RecordInput } from '../protocol/input-message.js';
import { streamKey } from '../protocol/messages.js';
import { buildRun, type LineRun } from './line-run.js';

/** A stream's pending records are sent once they reach this many bytes… */
export const STREAM_SEND_BYTES = 64 * 1024;
/** …or all pending records once they reach this many (and before any message they precede). */
export const TOTAL_SEND_BYTES = 4 * 1024 * 1024;

interface Pending<D> {
  readonly data: D;
  readonly lines: Buffer[];
  bytes: number;
}

/** Pending lines by stream `K`, each stream with the data `D` it got when its first line came. */
export class PendingLines<K, D> {
  /** Insertion order is the order of each stream's oldest pending line. */
  readonly #streams = new Map<K, Pending<D>>();
  #bytes = 0;

  /**
   * Adds a line (a view of the input: it is copied when sent) of stream `key`; `open` gives the
   * stream's data when it has no pending lines. True when something is due now (`due(key)`).
   */
  add(key: K, line: Buffer, open: () => D): boolean {
    let pending = this.#streams.get(key);
    if (pending === undefined) {
      pending = { data: open(), lines: [], bytes: 0 };
      this.#streams.set(key, pending);
    }
    pending.lines.push(line);
    pending.bytes += line.length;
    this.#bytes += line.length;
    return pending.bytes >= STREAM_SEND_BYTES || this.#bytes >= TOTAL_SEND_BYTES;
  }

  /**
   * The streams to send now, oldest first: `only` (once all pending lines reach
   * TOTAL_SEND_BYTES, every stream), or every stream when `only` is not given.
   */
  due(only?: K): K[] {
    if (this.#streams.size === 0) return [];
    if (only !== undefined && this.#bytes < TOTAL_SEND_BYTES)
      return this.#streams.has(only) ? [only] : [];
    return [...this.#streams.keys()];
  }

  /** Takes a stream's pending lines out, copied into a run. */
  take(key: K): { data: D; run: LineRun; buffer: ArrayBuffer; bytes: number } | undefined {
    const pending = this.#streams.get(key);
    if (pending === undefined) return undefined;
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
