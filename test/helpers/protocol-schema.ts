/** Validates messages against the official protocol schema (test/fixtures/airbyte_protocol.yaml). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

let validator: ValidateFunction | undefined;

function messageValidator(): ValidateFunction {
  if (validator) return validator;
  const path = fileURLToPath(new URL('../fixtures/airbyte_protocol.yaml', import.meta.url));
  const schema = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const { $schema: _s, $id: _i, ...rest } = schema;
  ajv.addSchema(rest, 'protocol');
  validator = ajv.getSchema('protocol#/definitions/AirbyteMessage')!;
  return validator;
}

/** Returns the schema violations of one message, or [] when it is valid. */
export function protocolViolations(message: unknown): string[] {
  const validate = messageValidator();
  if (validate(message)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? e.keyword}`);
}

/** Each stdout line must be one valid AirbyteMessage; returns the parsed messages. */
export function parseProtocolOutput(stdout: string): Record<string, unknown>[] {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  return lines.map((line, i) => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      throw new Error(`stdout line ${i + 1} is not JSON: ${line.slice(0, 200)}`);
    }
    const violations = protocolViolations(message);
    if (violations.length > 0) {
      throw new Error(
        `stdout line ${i + 1} violates the protocol schema: ${violations.join('; ')}`,
      );
    }
    return message as Record<string, unknown>;
  });
}
