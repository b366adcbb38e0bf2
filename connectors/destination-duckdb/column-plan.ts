/**
 * Schema evolution as data: which columns a table must gain or widen so that a stream's current
 * schema can be written to it, and which column holds which property. Pure: no I/O.
 *
 * Terms:
 * - property: a top-level property of the stream's JSON schema (any UTF-8 name).
 * - identifier: a column name, legal and distinct under DUCKDB_NAMING (case-insensitive).
 * - assignment: property → identifier. A column created by destkit carries a comment naming its
 *   property (`{"destkit_property": "…"}`), so a property keeps its column across syncs even when
 *   the name mapping would now give it another identifier (a case twin inserted before it).
 *
 * Planning (`planColumns`), in order:
 * 1. each property takes the column whose comment names it;
 * 2. a property still without one adopts the column of its mapped identifier when that column
 *    has no destkit comment (a table made by hand, or before comments);
 * 3. any other property gets a new column: its mapped identifier, or the first of `_1`, `_2`, …
 *    that no existing or new column uses.
 * A taken column whose type differs widens to the type that holds both (duckdb-types.ts);
 * columns of properties that left the schema stay as they are (nullable, never dropped).
 */
import { collisionKey } from '../../src/schema/name-mapper.js';
import { DUCKDB_NAMING } from '../../src/schema/naming-rules.js';
import type { ColumnSchema, MetaColumnName } from '../../src/schema/stream-columns.js';
import type { ColumnDefinition } from './duckdb-sql.js';
import { widenedType } from './duckdb-types.js';

/** A column as the table has it. */
export interface ExistingColumn {
  readonly identifier: string;
  /** Normalized (normalizeDuckDbType). */
  readonly type: string;
  /** The property its destkit comment names, if any. */
  readonly property: string | undefined;
}

/** A property to write, with the identifier the name mapping gives it. */
export interface WantedColumn {
  readonly property: string;
  readonly identifier: string;
  readonly type: string;
}

export type ColumnAction =
  | { readonly kind: 'create'; readonly columns: readonly ColumnDefinition[] }
  | { readonly kind: 'add'; readonly column: ColumnDefinition }
  | {
      readonly kind: 'widen';
      readonly identifier: string;
      readonly from: string;
      readonly to: string;
    }
  | { readonly kind: 'comment'; readonly identifier: string; readonly property: string };

export interface ColumnPlan {
  /** Property → identifier, for every wanted property. */
  readonly assignments: ReadonlyMap<string, string>;
  /** In order: create (or add / widen), then comments. */
  readonly actions: readonly ColumnAction[];
}

const key = (identifier: string): string => collisionKey(identifier, DUCKDB_NAMING);

/**
 * Plans a table for fixed columns (the meta columns, matched by identifier) and the stream's
 * properties. `existing` undefined means the table does not exist yet. `reserved` identifiers
 * are never given to a property (e.g. the staging table's load order column).
 */
export function planColumns(
  existing: readonly ExistingColumn[] | undefined,
  fixed: readonly ColumnDefinition[],
  wanted: readonly WantedColumn[],
  reserved: readonly string[] = [],
): ColumnPlan {
  const columns = existing ?? [];
  const byKey = new Map<string, ExistingColumn>();
  for (const c of columns) if (!byKey.has(key(c.identifier))) byKey.set(key(c.identifier), c);
  const fixedKeys = [...fixed.map((f) => key(f.identifier)), ...reserved.map(key)];
  const used = new Set<string>([...byKey.keys(), ...fixedKeys]);
  const claimed = new Set<string>(fixedKeys);
  const assignments = new Map<string, string>();
  const adds: ColumnDefinition[] = [];
  const widens: ColumnAction[] = [];
  const comments: ColumnAction[] = [];

  const take = (w: WantedColumn, column: ExistingColumn): void => {
    assignments.set(w.property, column.identifier);
    claimed.add(key(column.identifier));
    const to = widenedType(column.type, w.type);
    if (to !== column.type) {
      widens.push({ kind: 'widen', identifier: column.identifier, from: column.type, to });
    }
  };

  for (const f of fixed) {
    const column = byKey.get(key(f.identifier));
    if (column === undefined) adds.push(f);
    else {
      const to = widenedType(column.type, f.type);
      if (to !== column.type) {
        widens.push({ kind: 'widen', identifier: column.identifier, from: column.type, to });
      }
    }
  }
  // 1. by comment
  for (const w of wanted) {
    const column = columns.find(
      (c) => c.property === w.property && !claimed.has(key(c.identifier)),
    );
    if (column !== undefined) take(w, column);
  }
  // 2. by identifier, when the column is nobody's
  for (const w of wanted) {
    if (assignments.has(w.property)) continue;
    const column = byKey.get(key(w.identifier));
    if (
      column === undefined ||
      column.property !== undefined ||
      claimed.has(key(column.identifier))
    )
      continue;
    take(w, column);
    comments.push({ kind: 'comment', identifier: column.identifier, property: w.property });
  }
  // 3. new columns
  for (const w of wanted) {
    if (assignments.has(w.property)) continue;
    let identifier = w.identifier;
    for (let n = 1; used.has(key(identifier)); n++) identifier = `${w.identifier}_${n}`;
    used.add(key(identifier));
    claimed.add(key(identifier));
    assignments.set(w.property, identifier);
    adds.push({ identifier, type: w.type });
    comments.push({ kind: 'comment', identifier, property: w.property });
  }

  const structural: ColumnAction[] =
    existing === undefined
      ? [{ kind: 'create', columns: adds }]
      : [...adds.map((column): ColumnAction => ({ kind: 'add', column })), ...widens];
  return { assignments, actions: [...structural, ...comments] };
}

/**
 * Makes two tables hold the same columns with the same types (the staging table and its target):
 * a column missing on one side is added there; differing types both widen to the type that
 * holds both. Columns named in `ignore` (e.g. the staging table's load order) are left alone.
 */
export function alignColumns(
  a: readonly ExistingColumn[],
  b: readonly ExistingColumn[],
  ignore: readonly string[] = [],
): { a: ColumnAction[]; b: ColumnAction[] } {
  const skip = new Set(ignore.map(key));
  const bByKey = new Map(b.map((c) => [key(c.identifier), c]));
  const aByKey = new Map(a.map((c) => [key(c.identifier), c]));
  const forA: ColumnAction[] = [];
  const forB: ColumnAction[] = [];
  for (const ca of a) {
    if (skip.has(key(ca.identifier))) continue;
    const cb = bByKey.get(key(ca.identifier));
    if (cb === undefined) {
      forB.push({ kind: 'add', column: { identifier: ca.identifier, type: ca.type } });
      continue;
    }
    const to = widenedType(ca.type, cb.type);
    if (to !== ca.type) forA.push({ kind: 'widen', identifier: ca.identifier, from: ca.type, to });
    if (to !== cb.type) forB.push({ kind: 'widen', identifier: cb.identifier, from: cb.type, to });
  }
  for (const cb of b) {
    if (skip.has(key(cb.identifier)) || aByKey.has(key(cb.identifier))) continue;
    forA.push({ kind: 'add', column: { identifier: cb.identifier, type: cb.type } });
  }
  return { a: forA, b: forB };
}

/** Where the value of one table column comes from when a row is appended. */
export type ColumnSource =
  | { readonly kind: 'meta'; readonly name: MetaColumnName }
  /** The user column at this index of StreamColumns.columns. */
  | { readonly kind: 'user'; readonly index: number }
  /** The staging table's load order. */
  | { readonly kind: 'seq' }
  /** A column no property writes any more: null. */
  | { readonly kind: 'none' };

export interface LayoutColumn {
  readonly identifier: string;
  readonly type: string;
  readonly source: ColumnSource;
}

/** The table's columns in physical order, each with the source of its values. */
export function tableLayout(
  columns: readonly ExistingColumn[],
  assignments: ReadonlyMap<string, string>,
  userColumns: readonly ColumnSchema[],
  metaColumns: readonly { readonly name: MetaColumnName; readonly column: string }[],
  seqIdentifier?: string,
): LayoutColumn[] {
  const sources = new Map<string, ColumnSource>();
  for (const m of metaColumns) sources.set(key(m.column), { kind: 'meta', name: m.name });
  userColumns.forEach((c, index) => {
    const identifier = assignments.get(c.name);
    if (identifier !== undefined) sources.set(key(identifier), { kind: 'user', index });
  });
  if (seqIdentifier !== undefined) sources.set(key(seqIdentifier), { kind: 'seq' });
  return columns.map((c) => ({
    identifier: c.identifier,
    type: c.type,
    source: sources.get(key(c.identifier)) ?? { kind: 'none' },
  }));
}
