/**
 * Delivers events after the mutation that produced them: producers `enqueue` while they
 * mutate, then `flush` once the mutation is complete. A listener may cause new events (for
 * example by aborting a task); the nested flush returns at once and those events are delivered
 * after the current one, in order, by the outer flush. A throwing listener never stops delivery.
 */

export class EventDispatcher<E> {
  private readonly listeners = new Set<(event: E) => void>();
  private readonly queue: E[] = [];
  private dispatching = false;

  constructor(private readonly onListenerError: (error: unknown, event: E) => void = () => {}) {}

  /** Adds a listener; the returned function removes it (idempotent). */
  subscribe(listener: (event: E) => void): () => void {
    // A wrapper gives each subscription its own identity, even for the same function.
    const entry = (event: E) => listener(event);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  enqueue(event: E): void {
    this.queue.push(event);
  }

  /** Delivers queued events, unless a flush is already under way further up the stack. */
  flush(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let event = this.queue.shift(); event !== undefined; event = this.queue.shift()) {
        for (const listener of [...this.listeners]) {
          try {
            listener(event);
          } catch (error) {
            this.onListenerError(error, event);
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }
}
