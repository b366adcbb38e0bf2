/**
 * How far a connector has taken a batch of records. States only move forward:
 *
 *   PROCESSED → STAGED → PERSISTED → COMPLETE
 *
 * - PROCESSED: the connector has the records in hand (e.g. accumulated in memory).
 * - STAGED: written somewhere the connector controls, not yet durable in the destination.
 * - PERSISTED: durable; a checkpoint covering these records may be echoed.
 * - COMPLETE: persisted and needs no more work; a stream whose records are all COMPLETE may be
 *   closed. COMPLETE implies PERSISTED.
 *
 * Only PERSISTED and COMPLETE carry meaning for checkpoints and closing; the earlier states
 * exist so connectors can report progress in their own words.
 */

export const BATCH_STATES = ['PROCESSED', 'STAGED', 'PERSISTED', 'COMPLETE'] as const;
export type BatchState = (typeof BATCH_STATES)[number];

const RANK: Readonly<Record<BatchState, number>> = {
  PROCESSED: 0,
  STAGED: 1,
  PERSISTED: 2,
  COMPLETE: 3,
};

/** The position of `state` in the forward order (PROCESSED = 0 … COMPLETE = 3). */
export function batchStateRank(state: BatchState): number {
  return RANK[state];
}

/** The later of two states. */
export function laterBatchState(a: BatchState, b: BatchState): BatchState {
  return RANK[a] >= RANK[b] ? a : b;
}

/** True for PERSISTED and COMPLETE: records in this state are durable. */
export function isPersistedState(state: BatchState): boolean {
  return RANK[state] >= RANK.PERSISTED;
}

/** True for COMPLETE: records in this state need no more work. */
export function isCompleteState(state: BatchState): boolean {
  return state === 'COMPLETE';
}
