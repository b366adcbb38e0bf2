/**
 * The columns of a stream's final table: one per top-level property of its JSON schema, in
 * schema order, with its mapped identifier and Airbyte type, plus the meta columns; the primary
 * key and cursor resolved to those columns.
 *
 * Key paths (`primary_key`, `cursor_field`) are resolved at the top level only: a path
 * `["org", "id"]` resolves to the column `org` with `subPath: ["id"]`. A destination that can
 * read inside JSON may key on `org->id`; one that cannot keys on the whole `org` value (records
 * with equal `org.id` but other differences in `org` are then different keys — duplicates may
 * remain, nothing is lost). A path whose first element is not a top-level property, or an empty
 * path, is a KeyFieldNotFoundError (config_error) when the stream is set up.
 */
import type { DestinationStream, ImportType } from '../catalog/destination-stream.js';
import { META_COLUMNS } from '../write/airbyte-meta.js';
import { type AirbyteType, AirbyteTypes, arrayOf, objectOf } from './airbyte-type.js';
import { jsonSchemaToType } from './json-schema-to-type.js';
import { mapNames, sanitizeName } from './name-mapper.js';
import type { NamingRules } from './naming-rules.js';
import { KeyFieldNotFoundError } from './schema-errors.js';

/** One column for one top-level property. */
export interface ColumnSchema {
  /** The property name as in the schema and the record's data (and in meta changes). */
  readonly name: string;
  /** The identifier in the destination, unquoted. */
  readonly column: string;
  readonly type: AirbyteType;
}

export type MetaColumnName = (typeof META_COLUMNS)[number];

export interface MetaColumnSchema {
  readonly name: MetaColumnName;
  readonly column: string;
  readonly type: AirbyteType;
}

/** A primary key part or the cursor, resolved to its top-level column. */
export interface KeyField {
  /** The path as the catalog gives it. */
  readonly path: readonly string[];
  /** Position of the column in `StreamColumns.columns`. */
  readonly index: number;
  readonly column: ColumnSchema;
  /** The rest of the path inside the column's JSON value; empty for a top-level field. */
  readonly subPath: readonly string[];
}

export interface StreamColumns {
  /** User columns in schema order. */
  readonly columns: readonly ColumnSchema[];
  /** `_airbyte_raw_id`, `_airbyte_extracted_at`, `_airbyte_meta`, `_airbyte_generation_id`. */
  readonly metaColumns: readonly MetaColumnSchema[];
  /** Empty unless the import type has a primary key (dedupe, update, soft_delete). */
  readonly primaryKey: readonly KeyField[];
  /** Only for dedupe with a cursor. */
  readonly cursor: KeyField | undefined;
}

/**
 * Names no user column may take: the meta columns of final tables and those of raw tables. A
 * property with one of these names is renamed (`_airbyte_raw_id_1`).
 */
export const RESERVED_COLUMN_NAMES: readonly string[] = Object.freeze([
  ...META_COLUMNS,
  '_airbyte_loaded_at',
  '_airbyte_data',
]);

const CHANGE_TYPE = objectOf([
  ['field', AirbyteTypes.String],
  ['change', AirbyteTypes.String],
  ['reason', AirbyteTypes.String],
]);

export const META_COLUMN_TYPES: Readonly<Record<MetaColumnName, AirbyteType>> = Object.freeze({
  _airbyte_raw_id: AirbyteTypes.String,
  _airbyte_extracted_at: AirbyteTypes.TimestampTZ,
  _airbyte_meta: objectOf([
    ['sync_id', AirbyteTypes.Integer],
    ['changes', arrayOf(CHANGE_TYPE)],
  ]),
  _airbyte_generation_id: AirbyteTypes.Integer,
});

/**
 * The top-level columns of a JSON schema: the properties when the schema is an object schema;
 * none otherwise (a schemaless or non-object stream has only meta columns).
 */
export function columnsOfSchema(schema: unknown, rules: NamingRules): ColumnSchema[] {
  const type = jsonSchemaToType(schema);
  if (type.kind !== 'Object') return [];
  const properties = [...type.properties];
  const identifiers = mapNames(
    properties.map(([name]) => name),
    rules,
    RESERVED_COLUMN_NAMES,
  );
  return properties.map(([name, propertyType], i) => ({
    name,
    column: identifiers[i] ?? '_',
    type: propertyType,
  }));
}

/** The columns, meta columns and resolved keys of a stream. Throws KeyFieldNotFoundError. */
export function streamColumns(stream: DestinationStream, rules: NamingRules): StreamColumns {
  const columns = columnsOfSchema(stream.schema, rules);
  const metaColumns = META_COLUMNS.map((name) => ({
    name,
    column: sanitizeName(name, rules),
    type: META_COLUMN_TYPES[name],
  }));
  const resolve = (role: 'primary key' | 'cursor', path: readonly string[]): KeyField => {
    const head = path[0];
    const index = head === undefined ? -1 : columns.findIndex((c) => c.name === head);
    const column = columns[index];
    if (column === undefined) throw new KeyFieldNotFoundError(role, path, stream.descriptor);
    return { path, index, column, subPath: path.slice(1) };
  };
  const { primaryKey, cursor } = keyPaths(stream.importType);
  return {
    columns,
    metaColumns,
    primaryKey: primaryKey.map((path) => resolve('primary key', path)),
    cursor: cursor.length === 0 ? undefined : resolve('cursor', cursor),
  };
}

function keyPaths(importType: ImportType): {
  primaryKey: readonly (readonly string[])[];
  cursor: readonly string[];
} {
  switch (importType.kind) {
    case 'dedupe':
      return { primaryKey: importType.primaryKey, cursor: importType.cursor };
    case 'update':
    case 'soft_delete':
      return { primaryKey: importType.primaryKey, cursor: [] };
    default:
      return { primaryKey: [], cursor: [] };
  }
}
