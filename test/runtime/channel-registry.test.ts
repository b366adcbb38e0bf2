import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/runtime/channel.js';
import { ChannelNameTakenError, ChannelRegistry } from '../../src/runtime/channel-registry.js';

describe(ChannelRegistry, () => {
  describe('.list', () => {
    it('shows every channel in registration order, closed ones included', async () => {
      const registry = new ChannelRegistry();
      const records = registry.create<number>('records/users', { capacity: 2 });
      const files = new Channel<string>({ name: 'files', capacity: 8 });
      registry.register(files);
      await records.send(1);
      files.close();

      expect(registry.list()).toEqual([
        expect.objectContaining({ name: 'records/users', state: 'open', in: 1, capacity: 2 }),
        expect.objectContaining({ name: 'files', state: 'closed', in: 0, capacity: 8 }),
      ]);
      expect(registry.size).toBe(2);
    });

    it('does not change what it reads', async () => {
      const registry = new ChannelRegistry();
      const channel = registry.create<number>('batches');
      await channel.send(1);
      expect(registry.list()).toEqual(registry.list());
      expect(channel.buffered).toBe(1);
    });
  });

  it('refuses a second channel with the same name', () => {
    const registry = new ChannelRegistry();
    registry.create('checkpoints');
    expect(() => registry.create('checkpoints')).toThrow(ChannelNameTakenError);
    expect(() => registry.register(new Channel({ name: 'checkpoints' }))).toThrow(
      expect.objectContaining({ code: 'CHANNEL_NAME_TAKEN', channelName: 'checkpoints' }),
    );
  });

  it('finds and forgets channels by name', () => {
    const registry = new ChannelRegistry();
    const channel = registry.create('a');
    expect(registry.get('a')).toBe(channel);
    expect(registry.has('a')).toBe(true);
    expect(registry.unregister('a')).toBe(true);
    expect(registry.unregister('a')).toBe(false);
    expect(registry.get('a')).toBeUndefined();
    expect(registry.list()).toEqual([]);
  });
});
