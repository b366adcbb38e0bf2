/**
 * `describeDestinationConformance(options)`: the conformance suite as vitest tests, one per
 * scenario (scenarios.ts). A scenario the connector cannot take part in — a capability it lacks,
 * no dumper, no way to inject faults, or listed in `skip` — is registered as skipped.
 *
 * Per test: a fresh context (a unique namespace), `config(context)` for a fresh config, the
 * scenario's syncs, and `cleanup(config, context)` whatever happened.
 */
import { describe, it } from 'vitest';
import type { DestinationStream } from '../../catalog/destination-stream.js';
import type { JsonObject } from '../../protocol/messages.js';
import type { ExpectedRow } from '../record-differ.js';
import type { ConnectorUnderTest, RunMode } from '../run-destination.js';
import {
  type ConformanceCapabilities,
  type ConformanceContext,
  ConformanceSession,
  type Dumper,
} from './conformance-session.js';
import type { TypingOptions } from './expected-rows.js';
import { SCENARIOS, type Scenario } from './scenarios.js';

export interface DestinationConformanceOptions {
  /** Shown in the suite's title. */
  readonly name: string;
  /**
   * The connector: `definition` and/or `modulePath` (in-process runs, fault injection), and
   * `modulePath` or `command` for the runs that kill a child process (without either, the kill
   * is a stop signal in-process).
   */
  readonly connector: ConnectorUnderTest;
  /** A fresh config for one test; may create what it needs (a directory, a schema). */
  readonly config: (context: ConformanceContext) => JsonObject | Promise<JsonObject>;
  /**
   * Reads back what the destination holds for a stream: every row as a plain object, one key
   * per column (the user's fields, named as the destination names them, plus the meta columns
   * `_airbyte_raw_id`, `_airbyte_extracted_at`, `_airbyte_meta`, `_airbyte_generation_id`).
   * A stream without a table gives []. Without a dumper only the protocol is checked, and the
   * scenarios that are only about data are skipped.
   */
  readonly dumper?: Dumper;
  readonly capabilities: ConformanceCapabilities;
  /** Typed destinations: their naming rules and value limits (see docs/typing.md). */
  readonly typing?: TypingOptions;
  /** Adjusts an expected row to the destination (e.g. its rounding of numbers). */
  readonly mapExpected?: (row: ExpectedRow, stream: DestinationStream) => ExpectedRow;
  /** Runs after each test, also after a failure. */
  readonly cleanup?: (config: JsonObject, context: ConformanceContext) => void | Promise<void>;
  /** Scenario ids to skip, each with the reason (shown in the test title). */
  readonly skip?: Readonly<Record<string, string>>;
  /** Default: in-process when the definition or a module path is given. */
  readonly mode?: RunMode;
  /** Environment variables for every run (knobs). Default: a 200 ms flush window. */
  readonly env?: Readonly<Record<string, string>>;
  /** Timeout of one test. Default 60 s. */
  readonly timeoutMs?: number;
}

const DEFAULT_ENV: Readonly<Record<string, string>> = Object.freeze({
  DESTKIT_FLUSH_WINDOW_MS: '200',
});

let counter = 0;

/** A unique, SQL- and path-safe name: `dk<yyyymmdd><6 random letters><counter>`. */
export function uniqueNamespace(): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const letters = Array.from({ length: 6 }, () =>
    String.fromCharCode(97 + Math.floor(Math.random() * 26)),
  ).join('');
  counter++;
  return `dk${day}${letters}${counter}`;
}

/** Why a scenario cannot run for these options, or undefined when it can. */
export function skipReason(
  scenario: Scenario,
  options: DestinationConformanceOptions,
): string | undefined {
  const explicit = options.skip?.[scenario.id];
  if (explicit !== undefined) return explicit;
  for (const need of scenario.needs) {
    if (need === 'dumper') {
      if (options.dumper === undefined) return 'no dumper';
    } else if (need === 'faults') {
      const { definition, modulePath } = options.connector;
      if (definition === undefined && modulePath === undefined)
        return 'fault injection needs the definition or a module path';
    } else if (options.capabilities[need] !== true) {
      return `not ${need}`;
    }
  }
  return undefined;
}

/** Registers the conformance suite of one connector with vitest. */
export function describeDestinationConformance(options: DestinationConformanceOptions): void {
  const timeout = options.timeoutMs ?? 60_000;
  describe(`${options.name}: destination conformance`, () => {
    for (const scenario of SCENARIOS) {
      const reason = skipReason(scenario, options);
      const title =
        reason === undefined ? scenario.title : `${scenario.title} [skipped: ${reason}]`;
      it.skipIf(reason !== undefined)(title, { timeout }, async () => {
        const context: ConformanceContext = { namespace: uniqueNamespace(), testName: title };
        const config = await options.config(context);
        const session = new ConformanceSession(
          {
            connector: options.connector,
            capabilities: options.capabilities,
            dumper: options.dumper,
            typing: options.capabilities.typed ? (options.typing ?? {}) : undefined,
            mapExpected: options.mapExpected,
            mode: options.mode,
            env: { ...DEFAULT_ENV, ...options.env },
            syncTimeoutMs: timeout,
          },
          context,
          config,
        );
        try {
          await scenario.run(session);
        } finally {
          await options.cleanup?.(config, context);
        }
      });
    }
  });
}
