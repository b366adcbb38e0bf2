/**
 * ChannelRegistry: the named channels of one sync, so that the status server (`GET /channels`)
 * and the final report can list them. Closed channels stay listed: the report needs their counts.
 */
import { SystemError } from '../errors/destkit-error.js';
import { Channel, type ChannelOptions } from './channel.js';
import type { ChannelSnapshot } from './channel-snapshot.js';

/** Anything the registry can list: a {@link Channel}, or another queue that reports like one. */
export interface ObservableChannel {
  readonly name: string;
  snapshot(): ChannelSnapshot;
}

/** Two channels of one registry with the same name (a defect in the code that names them). */
export class ChannelNameTakenError extends SystemError {
  override readonly code = 'CHANNEL_NAME_TAKEN';
  constructor(readonly channelName: string) {
    super(`a channel named ${channelName} is already registered`);
  }
}

export class ChannelRegistry {
  readonly #channels = new Map<string, ObservableChannel>();

  /** Creates a channel named `name` and registers it. */
  create<T>(name: string, options: Omit<ChannelOptions, 'name'> = {}): Channel<T> {
    if (this.#channels.has(name)) throw new ChannelNameTakenError(name);
    const channel = new Channel<T>({ ...options, name });
    this.#channels.set(name, channel);
    return channel;
  }

  /** Registers a channel made elsewhere; its name must be free. */
  register(channel: ObservableChannel): void {
    if (this.#channels.has(channel.name)) throw new ChannelNameTakenError(channel.name);
    this.#channels.set(channel.name, channel);
  }

  /** Forgets a channel; true if it was registered. */
  unregister(name: string): boolean {
    return this.#channels.delete(name);
  }

  get(name: string): ObservableChannel | undefined {
    return this.#channels.get(name);
  }

  has(name: string): boolean {
    return this.#channels.has(name);
  }

  get size(): number {
    return this.#channels.size;
  }

  /** A snapshot of every registered channel, in registration order. Reading changes nothing. */
  list(): ChannelSnapshot[] {
    const snapshots: ChannelSnapshot[] = [];
    for (const channel of this.#channels.values()) snapshots.push(channel.snapshot());
    return snapshots;
  }
}
