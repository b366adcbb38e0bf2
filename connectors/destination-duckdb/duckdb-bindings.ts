/**
 * `@duckdb/node-api`, and the DuckDB C API bindings it is built on, loaded as node-api's own
 * dependency (node-api pins their exact version, so the two always match). The row encoder
 * fills data chunks with the bindings a column at a time (chunk-columns.ts), where node-api's
 * vectors take one value per call.
 *
 * Both are loaded with `require`: node-api is CommonJS, and an ESM `import` of it first has Node
 * read and lex each of its files for their exports, which took ~170–230 ms of every DuckDB
 * command's start against ~70–100 ms for `require`. So the connector's modules take node-api's
 * values from `nodeApi` and only its types from `import type`.
 */
import { createRequire } from 'node:module';
import type * as duckdb from '@duckdb/node-bindings';

const requireFromHere = createRequire(import.meta.url);
export const nodeApi = requireFromHere('@duckdb/node-api') as typeof import('@duckdb/node-api');
const requireFromNodeApi = createRequire(requireFromHere.resolve('@duckdb/node-api'));

export type DuckDbBindings = typeof duckdb;
export type DuckDbVector = duckdb.Vector;
export type DuckDbValueHandle = duckdb.Value;

export const bindings = requireFromNodeApi('@duckdb/node-bindings') as DuckDbBindings;
