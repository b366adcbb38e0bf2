/** The JSONL files connector definition. */
import { ContainerModule } from 'inversify';
import { defineConnector } from '../../src/write/connector-definition.js';
import { TOKENS } from '../../src/write/tokens.js';
import { checkJsonl } from './jsonl-check.js';
import { JsonlWriter } from './jsonl-writer.js';
import { JSONL_SPEC } from './spec.js';

export const connector = defineConnector({
  name: 'jsonl',
  spec: JSONL_SPEC,
  check: checkJsonl,
  module: new ContainerModule(({ bind }) => {
    bind(TOKENS.DestinationWriter).to(JsonlWriter).inSingletonScope();
  }),
});

export default connector;
