/** The TTY progress display renders per-stream lines on a terminal stream. */
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { resolveCatalog } from '../../src/catalog/destination-catalog.js';
import { ProgressDisplay } from '../../src/cli/progress-display.js';
import type {
  DestinationTaskLauncher,
  StreamSummary,
} from '../../src/pipeline/destination-task-launcher.js';
import { Channel } from '../../src/runtime/channel.js';
import { ChannelRegistry } from '../../src/runtime/channel-registry.js';
import { catalog } from '../helpers/messages.js';

class FakeTty extends Writable {
  text = '';
  isTTY = true;
  columns = 120;
  rows = 40;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe(ProgressDisplay, () => {
  it('shows totals, each stream and the blocked channels', async () => {
    vi.useFakeTimers();
    try {
      const [users] = resolveCatalog(catalog([{ name: 'users', namespace: 'crm' }])).streams;
      const summary: StreamSummary = {
        stream: users!,
        taskId: undefined,
        status: 'open',
        result: 'active',
        recordsRead: 1234,
        recordsPersisted: 1000,
        bytesRead: 617_000,
        batches: 2,
      };
      const launcher = {
        inputStats: { records: 1234, bytes: 617_000, statesEchoed: 3 },
        streamSummaries: () => [summary],
      } as unknown as DestinationTaskLauncher;
      const channels = new ChannelRegistry();
      const files = new Channel<number>({ name: 'spill-files', capacity: 1 });
      channels.register(files);
      await files.send(1);
      void files.send(2); // blocks: the channel is full
      const tty = new FakeTty();
      const display = new ProgressDisplay(tty as unknown as NodeJS.WriteStream, launcher, channels);
      vi.advanceTimersByTime(600);
      display.stop();
      expect(tty.text).toContain('1234 records');
      expect(tty.text).toContain('3 states echoed');
      expect(tty.text).toMatch(/crm\.users\s+1234 read\s+1000 persisted/);
      expect(tty.text).toContain('blocked: spill-files');
    } finally {
      vi.useRealTimers();
    }
  });
});
