/**
 * Runs one sync in-process, built exactly as `write` builds it (src/cli/run-connector.ts): a
 * root container, a sync container with the connector's module, the process bindings, the
 * pipeline module and the DestinationTaskLauncher. Stdout is collected, state echoes can be
 * observed at the very moment the launcher writes them, and stdin chunk boundaries are chosen
 * by the caller.
 */
import { Readable, Writable } from 'node:stream';
import type { ContainerModule } from 'inversify';
import { type Logger, pino } from 'pino';
import { DestinationCatalog, resolveCatalog } from '../catalog/destination-catalog.js';
import { type Knobs, resolveKnobs } from '../config/knobs.js';
import { SecretRedactor } from '../config/secret-redactor.js';
import {
  DestinationTaskLauncher,
  type SyncOutcome,
} from '../pipeline/destination-task-launcher.js';
import { pipelineModule } from '../pipeline/pipeline-module.js';
import { PIPELINE_TOKENS } from '../pipeline/pipeline-tokens.js';
import type { JsonObject } from '../protocol/messages.js';
import { OutputWriter } from '../protocol/output-writer.js';
import type { MemoryBudget, MemoryBudgetSnapshot } from '../runtime/memory-budget.js';
import { TaskRegistry } from '../runtime/task-registry.js';
import { type ConnectorDefinition, defineConnector } from '../write/connector-definition.js';
import { createRootContainer, createSyncContainer } from '../write/sync-container.js';

export interface RunPipelineOptions {
  /** The connector; or give `writerModule` (a module binding TOKENS.DestinationWriter). */
  readonly definition?: ConnectorDefinition;
  readonly writerModule?: ContainerModule;
  /** The connector config (already validated). Default `{}`. */
  readonly config?: JsonObject;
  /** A resolved catalog, or the configured catalog in its wire form. */
  readonly catalog: DestinationCatalog | unknown;
  /**
   * stdin: the bytes, or lines (each followed by `\n`), or chunks the test hands over as it
   * goes (an async iterable: the sync reads the next chunk when it wants one).
   */
  readonly input: string | Buffer | readonly string[] | AsyncIterable<Buffer>;
  /**
   * Sizes of the stdin chunks, used in turn until the input is used up (a size below 1 counts
   * as 1). Default: one chunk.
   */
  readonly chunkSizes?: readonly number[];
  /** Knob overrides on top of the defaults (the environment is ignored). */
  readonly knobs?: Partial<Knobs>;
  /**
   * Called synchronously when the launcher writes a line to stdout (a state echo), before the
   * OutputWriter buffers it: what the test sees here is the world at the moment of the echo.
   */
  readonly onLine?: (line: Buffer) => void;
  /** Default: a silent pino logger. */
  readonly logger?: Logger;
  /** Default: a fresh registry (its timers are stopped when the sync ends). */
  readonly registry?: TaskRegistry;
  /** Aborts the sync's root task (as a stop signal does); the outcome is then `cancelled`. */
  readonly signal?: AbortSignal;
}

export interface PipelineRun {
  readonly outcome: SyncOutcome;
  /** Every stdout line, in order, without the `\n`. */
  readonly stdoutLines: string[];
  /** The STATE messages on stdout, parsed, in echo order. */
  readonly echoedStates: JsonObject[];
  readonly registry: TaskRegistry;
  readonly launcher: DestinationTaskLauncher;
  readonly knobs: Knobs;
  /** The largest number of bytes the memory budget ever held. */
  readonly memoryHighWater: number;
  /** The memory and disk budgets when the sync ended. */
  readonly memory: MemoryBudgetSnapshot;
  readonly disk: MemoryBudgetSnapshot;
  /** The sync's spill directory (removed by the launcher when the sync ends). */
  readonly spillDir: string;
}

/** An OutputWriter that reports every line the moment it is written. */
class ObservedOutputWriter extends OutputWriter {
  constructor(
    stream: Writable,
    private readonly onLine: ((line: Buffer) => void) | undefined,
  ) {
    super(stream, new SecretRedactor());
  }

  override writeLine(line: Buffer | string): void {
    const bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    this.onLine?.(bytes);
    super.writeLine(bytes);
  }
}

function inputBytes(input: Exclude<RunPipelineOptions['input'], AsyncIterable<Buffer>>): Buffer {
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  if (Buffer.isBuffer(input)) return input;
  return Buffer.from((input as readonly string[]).map((line) => `${line}\n`).join(''), 'utf8');
}

/** Cuts `bytes` into chunks of the given sizes, in turn. */
export function chunkInput(bytes: Buffer, sizes: readonly number[] | undefined): Buffer[] {
  if (sizes === undefined || sizes.length === 0) return bytes.length === 0 ? [] : [bytes];
  const chunks: Buffer[] = [];
  let offset = 0;
  let i = 0;
  while (offset < bytes.length) {
    const size = Math.max(1, Math.floor(sizes[i % sizes.length] ?? 1));
    // A copy, as a real stream delivers fresh buffers.
    chunks.push(Buffer.from(bytes.subarray(offset, offset + size)));
    offset += size;
    i++;
  }
  return chunks;
}

function toCatalog(catalog: unknown): DestinationCatalog {
  return catalog instanceof DestinationCatalog ? catalog : resolveCatalog(catalog);
}

/** Runs one sync to its end; rejects only when the sync could not be built. */
export async function runPipeline(options: RunPipelineOptions): Promise<PipelineRun> {
  let definition = options.definition;
  if (definition === undefined) {
    if (options.writerModule === undefined) {
      throw new TypeError('runPipeline needs a definition or a writerModule');
    }
    definition = defineConnector({
      name: 'test-writer',
      spec: { connectionSpecification: { type: 'object' } },
      module: options.writerModule,
    });
  }
  const catalog = toCatalog(options.catalog);
  const knobs = resolveKnobs({}, undefined, options.knobs ?? {});
  const logger = options.logger ?? pino({ level: 'silent' });
  const registry = options.registry ?? new TaskRegistry();

  const collected: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      collected.push(chunk);
      callback();
    },
  });
  const output = new ObservedOutputWriter(sink, options.onLine);
  // Object mode keeps the chunk boundaries exactly as cut.
  const given = options.input;
  const input =
    typeof given === 'object' && Symbol.asyncIterator in given
      ? Readable.from(given)
      : Readable.from(chunkInput(inputBytes(given), options.chunkSizes));

  const root = createRootContainer(logger);
  const { container } = await createSyncContainer(
    root,
    definition,
    options.config ?? {},
    catalog,
    knobs,
  );
  container.bind(PIPELINE_TOKENS.OutputWriter).toConstantValue(output);
  container.bind(PIPELINE_TOKENS.TaskRegistry).toConstantValue(registry);
  container.bind(PIPELINE_TOKENS.Input).toConstantValue(input);
  container.bind(PIPELINE_TOKENS.ConnectorName).toConstantValue(definition.name);
  await container.loadAsync(pipelineModule);
  const launcher = container.get(DestinationTaskLauncher);
  const memory = container.get<MemoryBudget>(PIPELINE_TOKENS.MemoryBudget);
  const disk = container.get<MemoryBudget>(PIPELINE_TOKENS.DiskBudget);

  const running = launcher.run();
  const abort = (): void => {
    // The root may have ended already: completion wins, the abort is a no-op.
    if (registry.find(launcher.rootId)?.state === 'running')
      registry.abort(launcher.rootId, 'test abort');
  };
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  const outcome = await running;
  options.signal?.removeEventListener('abort', abort);
  await output.flush();
  if (options.registry === undefined) registry.close();

  const text = Buffer.concat(collected).toString('utf8');
  const stdoutLines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const echoedStates: JsonObject[] = [];
  for (const line of stdoutLines) {
    const message = JSON.parse(line) as JsonObject;
    if (message.type === 'STATE') echoedStates.push(message);
  }
  return {
    outcome,
    stdoutLines,
    echoedStates,
    registry,
    launcher,
    knobs,
    memoryHighWater: memory.highWaterMark,
    memory: memory.snapshot(),
    disk: disk.snapshot(),
    spillDir: launcher.spillDirectory,
  };
}
