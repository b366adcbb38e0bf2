/** dev-null and the destkit CLI as spawned processes speaking the protocol over pipes. */
import { describe, expect, it } from 'vitest';
import { catalog, globalState, record, status, streamState } from '../helpers/messages.js';
import { parseProtocolOutput } from '../helpers/protocol-schema.js';
import { DEV_NULL_MAIN, lines, runCli, writeJsonFiles } from '../helpers/run-cli.js';

type Message = Record<string, any>;

const twoStreams = catalog([{ name: 'users', namespace: 'public' }, { name: 'orders' }]);

function files(config: unknown = { mode: 'silent' }, cat: unknown = twoStreams) {
  return writeJsonFiles({ 'config.json': config, 'catalog.json': cat });
}

function traces(messages: Message[]): Message[] {
  return messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
}

describe('destkit CLI', () => {
  it('lists the first-party connectors', async () => {
    const result = await runCli(['connectors']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^dev-null\s/m);
  });

  it('fails with a TRACE naming an unknown connector', async () => {
    const result = await runCli(['no-such-connector', 'spec']);
    expect(result.code).toBe(1);
    const [trace] = traces(parseProtocolOutput(result.stdout));
    expect(trace?.trace.error.message).toContain('unknown connector no-such-connector');
    expect(trace?.trace.error.failure_type).toBe('config_error');
  });
});

describe('dev-null spec', () => {
  it('prints exactly one valid SPEC', async () => {
    const result = await runCli(['dev-null', 'spec']);
    expect(result.code).toBe(0);
    const messages = parseProtocolOutput(result.stdout);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.type).toBe('SPEC');
    expect((messages[0] as Message).spec.connectionSpecification.properties.mode.default).toBe(
      'silent',
    );
  });

  it('is also served by the connector executable (Airbyte argument convention)', async () => {
    const result = await runCli(['spec'], { script: DEV_NULL_MAIN });
    expect(result.code).toBe(0);
    expect(parseProtocolOutput(result.stdout).map((m) => m.type)).toEqual(['SPEC']);
  });
});

describe('dev-null check', () => {
  it('succeeds with a valid config', async () => {
    const f = files({ mode: 'logging', log_every: 10 });
    const result = await runCli(['dev-null', 'check', '--config', f['config.json']!]);
    expect(result.code).toBe(0);
    expect(parseProtocolOutput(result.stdout)).toEqual([
      { type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } },
    ]);
  });

  it('fails naming the field and the rule, exit 0', async () => {
    const f = files({ mode: 'logging', log_every: 0, colour: 'red' });
    const result = await runCli(['dev-null', 'check', '--config', f['config.json']!]);
    expect(result.code).toBe(0);
    const [status] = parseProtocolOutput(result.stdout) as Message[];
    expect(status?.connectionStatus.status).toBe('FAILED');
    expect(status?.connectionStatus.message).toContain('config.log_every must be >= 1');
    expect(status?.connectionStatus.message).toContain('config.colour is not allowed');
  });

  it('names a required field of the failing mode', async () => {
    const f = files({ mode: 'failing' });
    const result = await runCli(['dev-null', 'check', '--config', f['config.json']!]);
    const [status] = parseProtocolOutput(result.stdout) as Message[];
    expect(status?.connectionStatus.message).toBe(
      'invalid config: config.fail_after_records is required',
    );
  });

  it('fails naming an unreadable config file without quoting it', async () => {
    const f = writeJsonFiles({ 'config.json': '{"api_key": "hunter2", oops' });
    const result = await runCli(['dev-null', 'check', '--config', f['config.json']!]);
    expect(result.code).toBe(0);
    const [status] = parseProtocolOutput(result.stdout) as Message[];
    expect(status?.connectionStatus.message).toMatch(
      /cannot read the config file .*config\.json: it is not valid JSON/,
    );
    expect(result.stdout + result.stderr).not.toContain('hunter2');
  });
});

describe('dev-null write', () => {
  // input_workers=1 also proves the input worker thread loads from the built package.
  it.each(['0', '1'])(
    'echoes every STREAM state once, in order, byte-faithful, with per-stream counts (input_workers=%s)',
    async (inputWorkers) => {
      const f = files();
      const input = lines(
        record('users', { id: 1 }, 'public'),
        record('orders', { id: 1 }),
        record('users', { id: 2 }, 'public'),
        // unknown fields and a big integer must survive the echo untouched
        '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":12345678901234567890}},"sourceStats":{"recordCount":2.0}},"id":17}',
        '',
        record('orders', { id: 2 }),
        streamState('orders', { c: 1 }, { id: 18 }),
        streamState('users', { cursor: 3 }, {}, 'public'),
        status('users', 'COMPLETE', 'public'),
        status('orders', 'COMPLETE'),
      );
      const result = await runCli(
        ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
        {
          stdin: input,
          env: { DESTKIT_INPUT_WORKERS: inputWorkers },
        },
      );
      expect(result.stderr).not.toContain('"level":50');
      expect(result.code).toBe(0);
      const out = result.stdout.trimEnd().split('\n');
      expect(out.find((line) => line.includes('"id":17'))).toBe(
        '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":12345678901234567890}},"sourceStats":{"recordCount":2.0},"destinationStats":{"recordCount":2}},"id":17}',
      );
      const messages = parseProtocolOutput(result.stdout) as Message[];
      // order is per stream (the protocol's rule); states of different streams may interleave
      const echoed = (name: string) =>
        messages
          .filter((m) => m.state.stream.stream_descriptor.name === name)
          .map((m) => [m.state.destinationStats.recordCount, m.id]);
      expect(messages).toHaveLength(3);
      expect(echoed('users')).toEqual([
        [2, 17],
        [0, undefined],
      ]);
      expect(echoed('orders')).toEqual([[2, 18]]);
    },
  );

  it('echoes GLOBAL states with the count of all streams since the previous state', async () => {
    const f = files();
    const input = lines(
      record('users', { id: 1 }, 'public'),
      record('orders', { id: 1 }),
      globalState({ lsn: 1 }, ['users', 'orders'], { id: 1 }),
      record('orders', { id: 2 }),
      globalState({ lsn: 2 }, ['users', 'orders'], { id: 2 }),
      status('users', 'COMPLETE', 'public'),
      status('orders', 'COMPLETE'),
      globalState({ lsn: 3 }, ['users', 'orders'], { id: 3 }),
    );
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        stdin: input,
      },
    );
    expect(result.code).toBe(0);
    const messages = parseProtocolOutput(result.stdout) as Message[];
    expect(
      messages.map((m) => [m.state.global.shared_state.lsn, m.state.destinationStats.recordCount]),
    ).toEqual([
      [1, 2],
      [2, 1],
      [3, 0],
    ]);
  });

  it('fails on a malformed line with a TRACE naming its line number, never its content', async () => {
    const f = files();
    const input = lines(
      record('orders', { id: 1 }),
      streamState('orders', { c: 1 }),
      '{"type":"RECORD","record":{"stream":"orders","data":{"pin":"4711-secret-content"',
    );
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        stdin: input,
      },
    );
    expect(result.code).toBe(1);
    const messages = parseProtocolOutput(result.stdout) as Message[];
    // the state before the bad line is echoed only if its record was persisted in time
    expect(messages.at(-1)?.type).toBe('TRACE');
    expect(messages.slice(0, -1).every((m) => m.type === 'STATE')).toBe(true);
    expect(messages.length).toBeLessThanOrEqual(2);
    const error = messages.at(-1)?.trace.error;
    expect(error.message).toBe('input line 3 is not a valid protocol message: not valid JSON');
    expect(error.failure_type).toBe('system_error');
    expect(result.stdout + result.stderr).not.toContain('4711-secret-content');
  });

  it('fails a record missing a required field, naming the field', async () => {
    const f = files();
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        stdin: lines({ type: 'RECORD', record: { stream: 'orders', data: { id: 1 } } }),
      },
    );
    expect(result.code).toBe(1);
    const [trace] = traces(parseProtocolOutput(result.stdout));
    expect(trace?.trace.error.message).toMatch(/^input line 1 .*record\.emitted_at/);
  });

  it('fails a record for a stream not in the catalog with config_error naming the stream', async () => {
    const f = files();
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        stdin: lines(record('invoices', { id: 1 }, 'billing')),
      },
    );
    expect(result.code).toBe(1);
    const [trace] = traces(parseProtocolOutput(result.stdout));
    expect(trace?.trace.error.failure_type).toBe('config_error');
    expect(trace?.trace.error.message).toContain('billing.invoices');
  });

  it('fails a record after its stream COMPLETE', async () => {
    const f = files();
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        stdin: lines(status('orders', 'COMPLETE'), record('orders', { id: 1 })),
      },
    );
    expect(result.code).toBe(1);
    const [trace] = traces(parseProtocolOutput(result.stdout));
    expect(trace?.trace.error.message).toBe(
      'input line 2 has a record for stream orders after its terminal stream status',
    );
  });

  it('fails with transient_error naming the streams that lack a terminal status', async () => {
    const f = files();
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        stdin: lines(
          record('orders', { id: 1 }),
          streamState('orders', { c: 1 }),
          status('orders', 'COMPLETE'),
        ),
      },
    );
    expect(result.code).toBe(1);
    const messages = parseProtocolOutput(result.stdout) as Message[];
    expect(messages.map((m) => m.type)).toEqual(['STATE', 'TRACE']);
    expect(messages[1]?.trace.error.failure_type).toBe('transient_error');
    expect(messages[1]?.trace.error.message).toContain(
      'did not receive a terminal stream status message: public.users',
    );
  });

  it('echoes the states of an INCOMPLETE stream and still exits non-zero', async () => {
    const f = files();
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        stdin: lines(
          record('orders', { id: 1 }),
          streamState('orders', { c: 1 }),
          status('orders', 'INCOMPLETE'),
          status('users', 'COMPLETE', 'public'),
        ),
      },
    );
    expect(result.code).toBe(1);
    const messages = parseProtocolOutput(result.stdout) as Message[];
    expect(messages.map((m) => m.type)).toEqual(['STATE', 'TRACE']);
    expect(messages[1]?.trace.error.failure_type).toBe('transient_error');
    expect(messages[1]?.trace.error.message).toContain(
      'without a COMPLETE status for some streams, which were not finalized: orders',
    );
  });

  it.each(['config_error', 'transient_error', 'system_error'])(
    'reports an injected %s with its failure type',
    async (failureType) => {
      const f = files({
        mode: 'failing',
        fail_after_records: 1,
        failure_type: failureType,
        failure_message: 'injected',
      });
      const result = await runCli(
        ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
        {
          stdin: lines(
            record('orders', { id: 1 }),
            streamState('orders', {}),
            record('orders', { id: 2 }),
            streamState('orders', {}),
          ),
        },
      );
      expect(result.code).toBe(1);
      const messages = parseProtocolOutput(result.stdout) as Message[];
      // the state after the failure point is never echoed; the first only if persisted in time
      expect(messages.at(-1)?.trace.error).toMatchObject({
        message: 'injected',
        failure_type: failureType,
      });
      expect(messages.filter((m) => m.type === 'STATE').length).toBeLessThanOrEqual(1);
      expect(traces(messages)).toHaveLength(1);
    },
  );

  it('fails a line over the maximum size naming its line number', async () => {
    const f = files();
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        stdin: lines(record('orders', { id: 1 }), record('orders', { blob: 'x'.repeat(500) })),
        env: { DESTKIT_MAX_LINE_BYTES: '200' },
      },
    );
    expect(result.code).toBe(1);
    const [trace] = traces(parseProtocolOutput(result.stdout));
    expect(trace?.trace.error.message).toMatch(
      /^input line 2 is longer than the maximum line size of 200 bytes/,
    );
  });

  it('rejects an empty catalog and a repeated stream with config_error', async () => {
    for (const [cat, expected] of [
      [{ streams: [] }, 'catalog.streams must NOT have fewer than 1 items'],
      [catalog([{ name: 'a' }, { name: 'a' }]), 'catalog.streams[1] repeats stream a'],
      [{ streams: [{ stream: { name: 'a' } }] }, 'catalog.streams[0].sync_mode is required'],
    ] as const) {
      const f = files({ mode: 'silent' }, cat);
      const result = await runCli(
        ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
        {
          stdin: '',
        },
      );
      expect(result.code).toBe(1);
      const [trace] = traces(parseProtocolOutput(result.stdout));
      expect(trace?.trace.error.failure_type).toBe('config_error');
      expect(trace?.trace.error.message).toContain(expected);
    }
  });

  it('sends logs as LOG messages with --log-format airbyte', async () => {
    const f = files({ mode: 'logging', log_every: 1 });
    const result = await runCli(
      [
        'dev-null',
        'write',
        '--config',
        f['config.json']!,
        '--catalog',
        f['catalog.json']!,
        '--log-format',
        'airbyte',
      ],
      {
        stdin: lines(
          record('orders', { id: 1, name: 'data-never-logged' }),
          status('orders', 'COMPLETE'),
          status('users', 'COMPLETE', 'public'),
        ),
      },
    );
    expect(result.code).toBe(0);
    const messages = parseProtocolOutput(result.stdout) as Message[];
    expect(messages.length).toBeGreaterThan(2);
    expect(messages.every((m) => m.type === 'LOG')).toBe(true);
    expect(messages.some((m) => m.log.message.includes('dev-null record'))).toBe(true);
    expect(result.stdout).not.toContain('data-never-logged');
    expect(result.stderr).toBe('');
  });

  it("accepts knobs from the config's destkit object and rejects unknown ones", async () => {
    const ok = files({ mode: 'silent', destkit: { batch_size_bytes: 1 } });
    const good = await runCli(
      ['dev-null', 'write', '--config', ok['config.json']!, '--catalog', ok['catalog.json']!],
      {
        stdin: lines(
          record('orders', { id: 1 }),
          status('orders', 'COMPLETE'),
          status('users', 'COMPLETE', 'public'),
        ),
      },
    );
    expect(good.code).toBe(0);
    const bad = files({ mode: 'silent', destkit: { batch_size: 1 } });
    const result = await runCli(
      ['dev-null', 'write', '--config', bad['config.json']!, '--catalog', bad['catalog.json']!],
      { stdin: '' },
    );
    expect(result.code).toBe(1);
    const [trace] = traces(parseProtocolOutput(result.stdout));
    expect(trace?.trace.error.message).toContain('config.destkit.batch_size is not a known knob');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops on %s without finalizing: TRACE transient_error, non-zero exit, within 10 s',
    async (signal) => {
      const f = files({ mode: 'throttled', millis_per_batch: 200 });
      const started = Date.now();
      const result = await runCli(
        ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
        {
          keepStdinOpen: true,
          env: { DESTKIT_BATCH_SIZE_BYTES: '1' },
          onStart: (child) => {
            child.stdin!.write(
              lines(
                record('orders', { id: 1 }),
                streamState('orders', { c: 1 }),
                record('orders', { id: 2 }),
              ),
            );
            child.stderr!.on('data', (d: Buffer) => {
              if (d.toString().includes('dev-null ready'))
                setTimeout(() => child.kill(signal), 300);
            });
          },
        },
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.code).toBe(1);
      const messages = parseProtocolOutput(result.stdout) as Message[];
      const [trace] = traces(messages);
      expect(trace?.trace.error.failure_type).toBe('transient_error');
      expect(trace?.trace.error.message).toContain(`stopped by ${signal}`);
    },
  );
});
