/**
 * Binds the pipeline of one sync into its child container: the guarded writer, the budgets,
 * the channels and the launcher. The CLI binds what belongs to the process (OutputWriter,
 * TaskRegistry, input) before loading this module.
 */
import { ContainerModule } from 'inversify';
import type { Knobs } from '../config/knobs.js';
import { ChannelRegistry } from '../runtime/channel-registry.js';
import { MemoryBudget } from '../runtime/memory-budget.js';
import { defaultMemoryBudget, type MemoryBudgetDecision } from '../runtime/memory-limits.js';
import type { DestinationWriter } from '../write/destination-writer.js';
import { GuardedWriter } from '../write/guarded-stream-loader.js';
import { TOKENS } from '../write/tokens.js';
import { DestinationTaskLauncher } from './destination-task-launcher.js';
import { PIPELINE_TOKENS } from './pipeline-tokens.js';

/** How the memory budget is decided: the knob when set, else derived from the process's limits. */
export function memoryBudgetDecision(knobs: Knobs): MemoryBudgetDecision {
  return defaultMemoryBudget(knobs.memoryBudgetBytes > 0 ? knobs.memoryBudgetBytes : undefined);
}

export const pipelineModule = new ContainerModule(({ bind, isBound }) => {
  bind(PIPELINE_TOKENS.GuardedWriter)
    .toResolvedValue(
      (writer: DestinationWriter, knobs: Knobs) =>
        new GuardedWriter(writer, knobs.connectorCallTimeoutMs),
      [TOKENS.DestinationWriter, TOKENS.Knobs],
    )
    .inSingletonScope();
  if (!isBound(PIPELINE_TOKENS.ChannelRegistry)) {
    bind(PIPELINE_TOKENS.ChannelRegistry).toConstantValue(new ChannelRegistry());
  }
  bind(PIPELINE_TOKENS.MemoryBudget)
    .toResolvedValue(
      (knobs: Knobs) => new MemoryBudget({ capacity: memoryBudgetDecision(knobs).bytes }),
      [TOKENS.Knobs],
    )
    .inSingletonScope();
  bind(PIPELINE_TOKENS.DiskBudget)
    .toResolvedValue(
      (knobs: Knobs) =>
        new MemoryBudget({
          capacity: knobs.diskBudgetBytes,
          name: 'disk budget',
          setting: 'disk_budget_bytes / DESTKIT_DISK_BUDGET_BYTES',
        }),
      [TOKENS.Knobs],
    )
    .inSingletonScope();
  bind(DestinationTaskLauncher).toSelf().inSingletonScope();
});
