/**
 * Property: a secret from an `airbyte_secret` field never escapes through any output path —
 * JSON logs, pretty logs, LOG messages, error TRACEs (message, internal message, stack),
 * CONNECTION_STATUS, and the CLI's stdout and stderr.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load-config.js';
import { SecretRedactor } from '../../src/config/secret-redactor.js';
import { classifyError } from '../../src/errors/classify-error.js';
import { ConfigError } from '../../src/errors/destkit-error.js';
import { createLogger, type LogFormat } from '../../src/logging/logger.js';
import type { ConnectorSpecification, OutputMessage } from '../../src/protocol/messages.js';
import { OutputWriter } from '../../src/protocol/output-writer.js';
import { connectionStatusMessage, errorTraceMessage } from '../../src/protocol/trace-messages.js';
import { catalog, record, status } from '../helpers/messages.js';
import { lines, runCli, writeJsonFiles } from '../helpers/run-cli.js';

const spec: ConnectorSpecification = {
  connectionSpecification: {
    type: 'object',
    properties: {
      password: { type: 'string', airbyte_secret: true },
      nested: { type: 'object', properties: { token: { type: 'string', airbyte_secret: true } } },
    },
  },
};

/** Secrets of realistic length, any characters (quotes, backslashes, newlines, unicode). */
const secretArb = fc
  .string({ unit: 'binary', minLength: 6, maxLength: 40 })
  .filter((s) => s.trim().length >= 6);

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** Every string (keys and values) of every JSON line, plus the raw text of non-JSON lines. */
function strings(output: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        out.push(k);
        walk(x);
      }
    }
  };
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    try {
      walk(JSON.parse(line));
    } catch {
      out.push(line);
    }
  }
  return out;
}

function leaks(output: string, secrets: string[]): string[] {
  return secrets.filter((secret) => strings(output).some((s) => s.includes(secret)));
}

describe('secret masking', () => {
  it('masks secrets on every in-process output path', async () => {
    await fc.assert(
      fc.asyncProperty(
        secretArb,
        secretArb,
        fc.constantFrom<LogFormat>('json', 'pretty', 'airbyte'),
        async (password, token, format) => {
          const redactor = new SecretRedactor();
          resolveConfig(spec, { password, nested: { token } }, redactor);
          const stdout = new Sink();
          const stderr = new Sink();
          const output = new OutputWriter(stdout, redactor);
          const logger = createLogger({
            format,
            redactor,
            destination: stderr,
            colorize: false,
            emit: (m: OutputMessage) => output.write(m),
          });
          const failure = new Error(`driver said: auth failed for ${password}`, {
            cause: new ConfigError(`token ${token} rejected`),
          });
          logger.info(`connecting with ${password}`);
          logger.warn({ password, detail: { token }, list: [token] }, 'config %s', token);
          logger.error({ err: failure }, 'failed');
          logger.error(failure);
          output.write(errorTraceMessage(classifyError(failure)));
          output.write(
            connectionStatusMessage('FAILED', redactor.redactText(classifyError(failure).message)),
          );
          output.write({
            type: 'LOG',
            log: { level: 'ERROR', message: `raw ${password}`, stack_trace: token },
          });
          await output.flush();
          expect(leaks(stdout.text + stderr.text, [password, token])).toEqual([]);
          expect(stdout.text + stderr.text).toContain('****');
        },
      ),
      { numRuns: 150 },
    );
  });

  // Regression (fast-check counterexample ["\u0000"×6, "\u0000"×6, "json"]): pino copied the
  // message of an Error logged as the first argument into `msg`, unredacted.
  it('masks the message of an Error logged as the first argument', () => {
    const secret = '\u0000'.repeat(6);
    const redactor = new SecretRedactor();
    redactor.add(secret);
    const sink = new Sink();
    createLogger({ format: 'json', redactor, destination: sink }).error(
      new Error(`auth ${secret}`),
    );
    expect(JSON.parse(sink.text).msg).toBe('auth ****');
    expect(leaks(sink.text, [secret])).toEqual([]);
  });

  it('masks secrets in the stdout, stderr and report of a failing sync run as a child process', async () => {
    const samples = fc.sample(
      secretArb.filter((s) => !s.includes('\u0000')),
      { numRuns: 4, seed: 20261122 },
    );
    for (const secret of samples) {
      const f = writeJsonFiles({
        'config.json': {
          mode: 'failing',
          fail_after_records: 0,
          failure_type: 'config_error',
          failure_message: `cannot log in with ${secret}`,
          api_key: secret,
        },
        'catalog.json': catalog([{ name: 'orders' }]),
      });
      const reportPath = join(dirname(f['config.json']!), 'report.json');
      for (const format of ['json', 'airbyte']) {
        const result = await runCli(
          [
            'dev-null',
            'write',
            '--config',
            f['config.json']!,
            '--catalog',
            f['catalog.json']!,
            '--log-format',
            format,
            '--report',
            reportPath,
          ],
          { stdin: lines(record('orders', { id: 1 }), status('orders', 'COMPLETE')) },
        );
        expect(result.code).toBe(1);
        expect(result.stdout).toContain('cannot log in with ****');
        const report = readFileSync(reportPath, 'utf8');
        expect(JSON.parse(report).error.message).toBe('cannot log in with ****');
        expect(leaks(result.stdout + result.stderr + report, [secret])).toEqual([]);
      }
    }
  });
});
