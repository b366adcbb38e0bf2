/**
 * The schema layer shared by SQL destinations: Airbyte types from JSON schemas, value coercion,
 * identifier mapping, column lists and size limits. Pure: no I/O. See docs/typing.md.
 */
export * from './airbyte-type.js';
export * from './json-schema-to-type.js';
export * from './name-mapper.js';
export * from './naming-rules.js';
export * from './record-typer.js';
export * from './schema-errors.js';
export * from './size-limits.js';
export * from './stream-columns.js';
export * from './temporal.js';
export * from './value-coercer.js';
