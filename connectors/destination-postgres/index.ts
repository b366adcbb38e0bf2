/** The PostgreSQL connector definition. */
import { ContainerModule } from 'inversify';
import { defineConnector } from '../../src/write/connector-definition.js';
import { TOKENS } from '../../src/write/tokens.js';
import { checkPostgres } from './postgres-check.js';
import { PostgresWriter } from './postgres-writer.js';
import { POSTGRES_SPEC } from './spec.js';

export const connector = defineConnector({
  name: 'postgres',
  spec: POSTGRES_SPEC,
  check: checkPostgres,
  module: new ContainerModule(({ bind }) => {
    bind(TOKENS.DestinationWriter).to(PostgresWriter).inSingletonScope();
  }),
});

export default connector;
