/** The dev-null connector definition. */
import { ContainerModule } from 'inversify';
import { defineConnector } from '../../src/write/connector-definition.js';
import { TOKENS } from '../../src/write/tokens.js';
import { DevNullWriter } from './dev-null-writer.js';
import { DEV_NULL_SPEC } from './spec.js';

export const connector = defineConnector({
  name: 'dev-null',
  spec: DEV_NULL_SPEC,
  module: new ContainerModule(({ bind }) => {
    bind(TOKENS.DestinationWriter).to(DevNullWriter).inSingletonScope();
  }),
});

export default connector;
