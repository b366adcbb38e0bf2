/**
 * Admission: per-kind concurrency limits. A task takes one token of its kind before its body
 * runs and gives it back on its terminal transition, whatever the outcome (cancel-before-start
 * included). Waiters are served first in, first out, per kind. A limit of 0 means unlimited.
 * Lowering a limit never revokes tokens: holders keep them, new grants wait until the count of
 * holders is below the new limit. Pure bookkeeping: no timers, no I/O, grants are synchronous.
 */

/** A request for a token; hold on to it to cancel a waiting request. */
export interface AdmissionTicket {
  readonly kind: string;
}

export interface KindAdmission {
  readonly kind: string;
  /** 0 = unlimited. */
  readonly limit: number;
  /** Tokens currently held. */
  readonly held: number;
  /** Requests waiting for a token. */
  readonly waiting: number;
}

interface Waiter extends AdmissionTicket {
  readonly onGrant: () => void;
}

interface Lane {
  limit: number;
  held: number;
  waiters: Waiter[];
}

export class AdmissionControl {
  private readonly lanes = new Map<string, Lane>();

  /** `limits`: initial limit per kind; kinds not listed are unlimited. */
  constructor(limits: Readonly<Record<string, number>> = {}) {
    for (const [kind, limit] of Object.entries(limits)) this.setLimit(kind, limit);
  }

  /** Sets the limit of `kind` (0 = unlimited); raising it grants waiting requests at once. */
  setLimit(kind: string, limit: number): void {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`the concurrency limit of ${kind} must be an integer ≥ 0, got ${limit}`);
    }
    this.lane(kind).limit = limit;
    this.pump(kind);
  }

  limitOf(kind: string): number {
    return this.lanes.get(kind)?.limit ?? 0;
  }

  /**
   * Asks for a token of `kind`. `onGrant` is called exactly once when the token is granted —
   * synchronously, before `request` returns, if one is free — unless the ticket is cancelled first.
   */
  request(kind: string, onGrant: () => void): AdmissionTicket {
    const lane = this.lane(kind);
    const waiter: Waiter = { kind, onGrant };
    if (lane.waiters.length === 0 && hasRoom(lane)) {
      lane.held++;
      onGrant();
    } else {
      lane.waiters.push(waiter);
    }
    return waiter;
  }

  /** Withdraws a waiting request. Returns false if it was not waiting (granted, or cancelled). */
  cancel(ticket: AdmissionTicket): boolean {
    const lane = this.lanes.get(ticket.kind);
    if (lane === undefined) return false;
    const at = lane.waiters.indexOf(ticket as Waiter);
    if (at < 0) return false;
    lane.waiters.splice(at, 1);
    return true;
  }

  /** Returns a token of `kind` and grants it to the next waiter, if any. */
  release(kind: string): void {
    const lane = this.lanes.get(kind);
    if (lane === undefined || lane.held === 0) {
      throw new Error(`admission: release of a ${kind} token that is not held`);
    }
    lane.held--;
    this.pump(kind);
  }

  /** One row per kind that has a limit or has been used, sorted by kind. */
  snapshot(): KindAdmission[] {
    return [...this.lanes.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([kind, lane]) => ({
        kind,
        limit: lane.limit,
        held: lane.held,
        waiting: lane.waiters.length,
      }));
  }

  private lane(kind: string): Lane {
    let lane = this.lanes.get(kind);
    if (lane === undefined) {
      lane = { limit: 0, held: 0, waiters: [] };
      this.lanes.set(kind, lane);
    }
    return lane;
  }

  private pump(kind: string): void {
    const lane = this.lane(kind);
    while (hasRoom(lane)) {
      const next = lane.waiters.shift();
      if (next === undefined) return;
      lane.held++;
      next.onGrant();
    }
  }
}

function hasRoom(lane: Lane): boolean {
  return lane.limit === 0 || lane.held < lane.limit;
}
