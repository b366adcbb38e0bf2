/**
 * Live progress on stderr while a sync runs — only when stderr is a TTY: per stream records/s
 * and totals, and the channels that are blocked. Rendered with log-update.
 */
import { createLogUpdate } from 'log-update';
import type { DestinationTaskLauncher } from '../pipeline/destination-task-launcher.js';
import type { ChannelRegistry } from '../runtime/channel-registry.js';

const REFRESH_MS = 500;

export class ProgressDisplay {
  readonly #timer: NodeJS.Timeout;
  readonly #render: ReturnType<typeof createLogUpdate>;
  readonly #started = Date.now();
  #last = new Map<string, { records: number; at: number }>();

  constructor(
    stream: NodeJS.WriteStream,
    private readonly launcher: DestinationTaskLauncher,
    private readonly channels: ChannelRegistry,
  ) {
    this.#render = createLogUpdate(stream);
    this.#timer = setInterval(() => this.tick(), REFRESH_MS);
    this.#timer.unref();
  }

  private tick(): void {
    const now = Date.now();
    const lines: string[] = [];
    const totals = this.launcher.inputStats;
    const seconds = Math.max(0.001, (now - this.#started) / 1000);
    lines.push(
      `destkit ${seconds.toFixed(0)} s  ${totals.records} records  ${(totals.bytes / 1024 / 1024).toFixed(1)} MiB  ` +
        `${(totals.records / seconds).toFixed(0)} rec/s  ${totals.statesEchoed} states echoed`,
    );
    const next = new Map<string, { records: number; at: number }>();
    for (const s of this.launcher.streamSummaries()) {
      const previous = this.#last.get(s.stream.key);
      const rate =
        previous === undefined
          ? 0
          : ((s.recordsRead - previous.records) * 1000) / Math.max(1, now - previous.at);
      next.set(s.stream.key, { records: s.recordsRead, at: now });
      lines.push(
        `  ${s.stream.label.slice(0, 40).padEnd(40)} ${String(s.recordsRead).padStart(10)} read ${String(s.recordsPersisted).padStart(10)} persisted ${rate.toFixed(0).padStart(8)} rec/s  ${s.status}`,
      );
    }
    this.#last = next;
    const blocked = this.channels
      .list()
      .filter((c) => c.state === 'blocked')
      .map((c) => c.name);
    if (blocked.length > 0) lines.push(`  blocked: ${blocked.join(', ')}`);
    this.#render(lines.join('\n'));
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#render.clear();
    this.#render.done();
  }
}
