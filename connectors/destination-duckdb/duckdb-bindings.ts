/**
 * The DuckDB C API bindings that `@duckdb/node-api` is built on, loaded as node-api's own
 * dependency (node-api pins their exact version, so the two always match). The row encoder
 * fills data chunks with them a column at a time (chunk-columns.ts), where node-api's vectors
 * take one value per call.
 */
import { createRequire } from 'node:module';
import type * as duckdb from '@duckdb/node-bindings';

const requireFromHere = createRequire(import.meta.url);
const requireFromNodeApi = createRequire(requireFromHere.resolve('@duckdb/node-api'));

export type DuckDbBindings = typeof duckdb;
export type DuckDbVector = duckdb.Vector;
export type DuckDbValueHandle = duckdb.Value;

export const bindings = requireFromNodeApi('@duckdb/node-bindings') as DuckDbBindings;
