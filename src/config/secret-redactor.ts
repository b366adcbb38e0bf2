/**
 * Masks every secret value (`airbyte_secret` fields of the config) in anything destkit writes
 * outside the data path: log lines, traces, error messages, reports. One instance per process;
 * secrets are added once the config is read. Text is redacted by replacing every occurrence of
 * a secret (and of its URL-encoded form, as drivers print connection strings) with `****`;
 * structured values are redacted string by string *before* they are serialized, so JSON stays
 * valid whatever characters a secret holds.
 */

export const MASK = '****';

export class SecretRedactor {
  /** Secrets, longest first so that a secret containing another is masked whole. */
  private patterns: string[] = [];

  /** Adds secret values; empty strings are ignored (they would match everywhere). */
  add(...secrets: readonly string[]): void {
    const next = new Set(this.patterns);
    for (const secret of secrets) {
      if (secret.length === 0) continue;
      next.add(secret);
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret) next.add(encoded);
    }
    this.patterns = [...next].sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.patterns.length;
  }

  /** Replaces every occurrence of every secret in `text` with `****`. */
  redactText(text: string): string {
    if (this.patterns.length === 0) return text;
    let out = text;
    for (const secret of this.patterns) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
    }
    return out;
  }

  /**
   * Returns a copy of `value` where every string (object keys included) is redacted. Errors
   * become plain `{type, message, stack, cause}` objects, redacted too. Cycles are cut.
   */
  redactValue<T>(value: T): T {
    if (this.patterns.length === 0 && !containsError(value, 0)) return value;
    return this.redactDeep(value, new WeakSet()) as T;
  }

  private redactDeep(value: unknown, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.redactText(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[circular]';
    seen.add(value);
    if (value instanceof Error) {
      const out: Record<string, unknown> = {
        type: value.name,
        message: this.redactText(value.message),
      };
      if (value.stack !== undefined) out.stack = this.redactText(value.stack);
      if (value.cause !== undefined) out.cause = this.redactDeep(value.cause, seen);
      for (const [k, v] of Object.entries(value)) {
        if (!(k in out)) out[this.redactText(k)] = this.redactDeep(v, seen);
      }
      return out;
    }
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v, seen));
    if (Buffer.isBuffer(value)) return '[buffer]';
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[this.redactText(k)] = this.redactDeep(v, seen);
    }
    return out;
  }
}

function containsError(value: unknown, depth: number): boolean {
  if (value instanceof Error) return true;
  if (depth > 4 || value === null || typeof value !== 'object') return false;
  // A `for…in` over own keys, not Object.values: no array per call (every finished task's payload
  // passes here).
  for (const k in value) {
    if (Object.hasOwn(value, k) && containsError((value as Record<string, unknown>)[k], depth + 1))
      return true;
  }
  return false;
}
