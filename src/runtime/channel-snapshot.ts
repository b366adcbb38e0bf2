/**
 * A point-in-time view of a channel (a bounded queue between tasks), as the status server's
 * `GET /channels` and the sync report show it. Channels produce it; the runtime only serves it.
 */

/** The states of a channel: Idle → Open ⇄ Blocked → Closed (absorbing). */
export type ChannelState = 'idle' | 'open' | 'blocked' | 'closed';

export interface ChannelSnapshot {
  /** The channel's name, e.g. `records:public.users`. */
  name: string;
  /** `blocked` while a producer waits on backpressure. */
  state: ChannelState;
  /** Items accepted so far. */
  in: number;
  /** Items handed to consumers so far. */
  out: number;
  /** Items currently queued (in − out, minus anything dropped). */
  buffered: number;
  /** The bound of the queue. */
  capacity: number;
  /** The largest `buffered` value seen. */
  highWaterMark: number;
  /** Total time producers spent blocked, in milliseconds. */
  blockedMs: number;
  /** Producers still attached. */
  producers: number;
}
