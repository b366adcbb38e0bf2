/** The JSONL connector's config after validation and defaults. */
import { resolve } from 'node:path';
import type { JsonObject } from '../../src/protocol/messages.js';

export interface JsonlConfig {
  /** `destination_path`, resolved against the working directory. */
  readonly destinationPath: string;
}

/** Reads a config that already passed the spec's validation. */
export function toJsonlConfig(config: JsonObject): JsonlConfig {
  return { destinationPath: resolve(config.destination_path as string) };
}
