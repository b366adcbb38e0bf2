/** The dev-null config after validation and defaults. */

import type { FailureType } from '../../src/errors/destkit-error.js';
import type { JsonObject } from '../../src/protocol/messages.js';

export type DevNullMode = 'silent' | 'logging' | 'throttled' | 'failing';

export interface DevNullConfig {
  readonly mode: DevNullMode;
  readonly logEvery: number;
  readonly millisPerBatch: number;
  readonly failAfterRecords: number;
  readonly failureType: FailureType;
  readonly failureMessage: string;
}

export function toDevNullConfig(config: JsonObject): DevNullConfig {
  return {
    mode: (config.mode as DevNullMode | undefined) ?? 'silent',
    logEvery: (config.log_every as number | undefined) ?? 1000,
    millisPerBatch: (config.millis_per_batch as number | undefined) ?? 100,
    failAfterRecords: (config.fail_after_records as number | undefined) ?? 0,
    failureType: (config.failure_type as FailureType | undefined) ?? 'system_error',
    failureMessage:
      (config.failure_message as string | undefined) ??
      'dev-null failure injected by configuration',
  };
}
