/**
 * Where each stream's tables live (pure). Names come from the schema layer's POSTGRES_NAMING
 * (any character but NUL, at most 63 bytes, collisions settled in catalog order), plus two
 * PostgreSQL rules:
 * - a schema name starting with `pg_` is reserved for system schemas (and `pg_temp` would mean
 *   the session's temporary schema): such a namespace gets a `_` in front (`pg_x` → `_pg_x`);
 * - the connector's own tables are named after the final table's schema and name by a hash:
 *   `_airbyte_tmp_<hash>_<table>` (truncate refreshes), `_airbyte_stage_<hash>_<table>` (dedup
 *   staging), and the primary-key index `_airbyte_pk_<hash>_<table>`, cut to 63 bytes.
 */
import { createHash } from 'node:crypto';
import {
  lengthOf,
  mapTableNames,
  POSTGRES_NAMING,
  sanitizeName,
  type TableName,
} from '../../src/schema/index.js';

const MAX_BYTES = POSTGRES_NAMING.maxLength;

/** The schema identifier of a namespace (or of the configured default schema). */
export function schemaIdentifier(namespace: string): string {
  const name = sanitizeName(namespace, POSTGRES_NAMING);
  return name.startsWith('pg_') ? cut(`_${name}`, MAX_BYTES) : name;
}

/** Final tables of a catalog's streams, in catalog order. */
export function finalTableNames(
  streams: readonly { readonly namespace?: string | null | undefined; readonly name: string }[],
  defaultSchema: string,
): TableName[] {
  return mapTableNames(
    streams.map((s) => ({
      name: s.name,
      namespace: schemaIdentifier(s.namespace ?? defaultSchema),
    })),
    POSTGRES_NAMING,
    schemaIdentifier(defaultSchema),
  );
}

export type HelperKind = 'tmp' | 'stage' | 'pk';

/** The name of a helper object (temp table, staging table, key index) of a final table. */
export function helperName(kind: HelperKind, table: TableName): string {
  const hash = createHash('sha256')
    .update(`${table.schema}\u0000${table.table}`, 'utf8')
    .digest('hex')
    .slice(0, 10);
  return cut(`_airbyte_${kind}_${hash}_${table.table}`, MAX_BYTES);
}

/** `"schema"."table"` */
export function qualified(table: TableName): string {
  return `${POSTGRES_NAMING.quoteIdentifier(table.schema)}.${POSTGRES_NAMING.quoteIdentifier(table.table)}`;
}

export function quote(identifier: string): string {
  return POSTGRES_NAMING.quoteIdentifier(identifier);
}

/** The longest prefix of whole code points within `max` UTF-8 bytes. */
function cut(text: string, max: number): string {
  if (lengthOf(text, POSTGRES_NAMING) <= max) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (used + size > max) break;
    out += ch;
    used += size;
  }
  return out;
}
