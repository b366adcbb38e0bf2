/**
 * Maps stream, namespace and column names — any UTF-8 string — to identifiers that are legal
 * under a destination's NamingRules and distinct within their scope (columns of a table, tables
 * of a schema). Deterministic: the same names in the same order always give the same result.
 *
 * One name (`sanitizeName`):
 * 1. transliterate when the rules ask (`é` → `e`), then fold the case;
 * 2. replace each code point the rules do not allow — always NUL and lone surrogates — by `_`;
 * 3. the empty name becomes `_`; a bad first character gets a `_` in front;
 * 4. cut to the maximum length (on a code point boundary); a reserved word gets a `_` suffix.
 * A scope (`mapNames`): names that collide — equal after sanitizing, or equal ignoring case when
 * the engine ignores case, or equal to a reserved name such as `_airbyte_raw_id` — are settled
 * in order: the first name (in schema order) that is not reserved keeps its identifier; every
 * later one takes the smallest free `_1`, `_2`, … suffix, its base cut so the whole still fits.
 * Renamed names never take an identifier that another name would have kept unrenamed.
 */
import type { NamingRules } from './naming-rules.js';

const LONE_SURROGATE = /^[\uD800-\uDFFF]$/;
const COMBINING_MARK = /\p{M}/gu;

/** A name as a legal identifier, before collisions within its scope are settled. */
export function sanitizeName(name: string, rules: NamingRules): string {
  let text = rules.transliterate ? name.normalize('NFKD').replace(COMBINING_MARK, '') : name;
  text = fold(text, rules);
  let out = '';
  for (const ch of text) {
    out += LONE_SURROGATE.test(ch) || ch === '\u0000' || !rules.allowedChar.test(ch) ? '_' : ch;
  }
  if (out === '') out = '_';
  const first = firstCodePoint(out);
  if (!rules.firstChar.test(first)) out = `_${out}`;
  out = truncate(out, rules.maxLength, rules);
  if (rules.reservedWords.has(out.toLowerCase())) out = withSuffix(out, '_', rules);
  return out;
}

/**
 * Legal, distinct identifiers for the names of one scope, in the same order. `reserved` names
 * (e.g. the meta columns) are taken first: a user name equal to one of them is renamed.
 */
export function mapNames(
  names: readonly string[],
  rules: NamingRules,
  reserved: readonly string[] = [],
): string[] {
  const candidates = names.map((n) => sanitizeName(n, rules));
  const taken = new Set(reserved.map((r) => collisionKey(sanitizeName(r, rules), rules)));
  const result: (string | undefined)[] = new Array<string | undefined>(names.length);

  const keepers = new Map<string, number>();
  candidates.forEach((candidate, i) => {
    const key = collisionKey(candidate, rules);
    if (!taken.has(key) && !keepers.has(key)) keepers.set(key, i);
  });
  for (const [key, i] of keepers) {
    result[i] = candidates[i];
    taken.add(key);
  }

  return candidates.map((candidate, i) => {
    const kept = result[i];
    if (kept !== undefined) return kept;
    for (let n = 1; ; n++) {
      const renamed = withSuffix(candidate, `_${n}`, rules);
      const key = collisionKey(renamed, rules);
      if (!taken.has(key)) {
        taken.add(key);
        return renamed;
      }
    }
  });
}

/**
 * True when `identifier` is legal under the rules as mapNames produces it: non-empty, every
 * code point allowed, first one allowed, within the length, not reserved, already case-folded.
 */
export function isLegalIdentifier(identifier: string, rules: NamingRules): boolean {
  if (identifier === '' || lengthOf(identifier, rules) > rules.maxLength) return false;
  if (!rules.firstChar.test(firstCodePoint(identifier))) return false;
  for (const ch of identifier) {
    if (LONE_SURROGATE.test(ch) || ch === '\u0000' || !rules.allowedChar.test(ch)) return false;
  }
  if (rules.reservedWords.has(identifier.toLowerCase())) return false;
  return fold(identifier, rules) === identifier;
}

/** Two identifiers collide in the engine iff their keys are equal (a safe over-approximation). */
export function collisionKey(identifier: string, rules: NamingRules): string {
  return rules.caseInsensitive ? identifier.normalize('NFC').toLowerCase() : identifier;
}

/** Length in the rules' unit: UTF-8 bytes or code points. */
export function lengthOf(text: string, rules: NamingRules): number {
  if (rules.lengthUnit === 'bytes') return Buffer.byteLength(text, 'utf8');
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function fold(text: string, rules: NamingRules): string {
  if (rules.caseFolding === 'lower') return text.toLowerCase();
  if (rules.caseFolding === 'upper') return text.toUpperCase();
  return text;
}

function firstCodePoint(text: string): string {
  const cp = text.codePointAt(0);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

/** `base` cut so that `base + suffix` fits, then the suffix. */
function withSuffix(base: string, suffix: string, rules: NamingRules): string {
  return truncate(base, rules.maxLength - lengthOf(suffix, rules), rules) + suffix;
}

/** The longest prefix of whole code points within `max` units. */
function truncate(text: string, max: number, rules: NamingRules): string {
  if (lengthOf(text, rules) <= max) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = lengthOf(ch, rules);
    if (used + size > max) break;
    out += ch;
    used += size;
  }
  return out;
}

/** Where a stream's final table lives. */
export interface TableName {
  /** The schema (namespace) identifier. */
  readonly schema: string;
  readonly table: string;
}

/**
 * Schema and table identifiers for a catalog's streams, in catalog order. A stream without a
 * namespace goes to `defaultNamespace`. Namespaces are sanitized one by one (two namespaces may
 * share a schema); table names are made distinct within each schema, first stream first.
 */
export function mapTableNames(
  streams: readonly { readonly namespace?: string | null | undefined; readonly name: string }[],
  rules: NamingRules,
  defaultNamespace: string,
): TableName[] {
  const schemas = streams.map((s) => sanitizeName(s.namespace ?? defaultNamespace, rules));
  const bySchema = new Map<string, number[]>();
  schemas.forEach((schema, i) => {
    const key = collisionKey(schema, rules);
    const group = bySchema.get(key);
    if (group === undefined) bySchema.set(key, [i]);
    else group.push(i);
  });
  const tables: string[] = new Array<string>(streams.length);
  for (const indices of bySchema.values()) {
    const names = mapNames(
      indices.map((i) => streams[i]?.name ?? ''),
      rules,
    );
    indices.forEach((streamIndex, j) => {
      tables[streamIndex] = names[j] ?? '_';
    });
  }
  return schemas.map((schema, i) => ({ schema, table: tables[i] ?? '_' }));
}
