/** The DuckDB connector definition. */
import { ContainerModule } from 'inversify';
import { defineConnector } from '../../src/write/connector-definition.js';
import { TOKENS } from '../../src/write/tokens.js';
import { checkDuckDb } from './duckdb-check.js';
import { DuckDbWriter } from './duckdb-writer.js';
import { DUCKDB_SPEC } from './spec.js';

export const connector = defineConnector({
  name: 'duckdb',
  spec: DUCKDB_SPEC,
  check: checkDuckDb,
  module: new ContainerModule(({ bind }) => {
    bind(TOKENS.DestinationWriter).to(DuckDbWriter).inSingletonScope();
  }),
});

export default connector;
