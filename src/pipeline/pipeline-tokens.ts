/**
 * DI tokens of the pipeline, bound by destkit in the per-sync container (see
 * `pipeline-module.ts`). Connectors never bind these.
 */
export const PIPELINE_TOKENS = {
  /** The connector's DestinationWriter behind its GuardedWriter. */
  GuardedWriter: Symbol.for('destkit.pipeline.GuardedWriter'),
  /** The process's OutputWriter (the single stdout owner). */
  OutputWriter: Symbol.for('destkit.pipeline.OutputWriter'),
  /** The task registry every task of the sync runs on. */
  TaskRegistry: Symbol.for('destkit.pipeline.TaskRegistry'),
  /** Named channels, for the status server and the report. */
  ChannelRegistry: Symbol.for('destkit.pipeline.ChannelRegistry'),
  /** Bytes of input held in memory. */
  MemoryBudget: Symbol.for('destkit.pipeline.MemoryBudget'),
  /** Bytes of spill files on disk. */
  DiskBudget: Symbol.for('destkit.pipeline.DiskBudget'),
  /** The protocol messages to load (stdin). */
  Input: Symbol.for('destkit.pipeline.Input'),
  /** The connector's name. */
  ConnectorName: Symbol.for('destkit.pipeline.ConnectorName'),
} as const;
