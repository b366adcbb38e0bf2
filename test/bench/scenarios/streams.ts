/**
 * Bench scenario `streams`: many interleaved streams against one stream of the same size, both
 * through `destkit dev-null write` (issue #8's target: 1,000 streams ≥ 0.8× one stream).
 *
 * - baseline: one stream, `BENCH_STREAMS_RECORDS` records (default 200,000, ~100 MB), a STATE
 *   every 100 records;
 * - candidate: the same number of records of the same size spread over `BENCH_STREAMS_COUNT`
 *   streams (default 1,000), interleaved, a STATE every 100 records per stream.
 *
 * Both inputs are generated in setup by `destkit generate` next to the run's own input (the
 * bench folder) and reused by later runs with the same parameters. Both runs are checked like
 * every connector run (exit code, STATE lines, records persisted in the report).
 */
import { generatedInput, scenarioInput } from '../lib/input.js';
import { envInt, grouped } from '../lib/report.js';
import type { BenchContext, BenchInput, BenchScenario } from '../scenario.js';

const STATE_EVERY = 100;
const RECORD_BYTES = 500;
const SILENT = { mode: 'silent' } as const;

let one: BenchInput | undefined;
let many: BenchInput | undefined;

const records = envInt('BENCH_STREAMS_RECORDS', 200_000);
const streams = envInt('BENCH_STREAMS_COUNT', 1000, 2);

function generate(ctx: BenchContext, count: number): Promise<BenchInput> {
  return scenarioInput(ctx, {
    records,
    streams: count,
    stateEvery: STATE_EVERY,
    recordBytes: RECORD_BYTES,
  });
}

const scenario: BenchScenario = {
  name: 'streams',
  async setup(ctx) {
    one = await generate(ctx, 1);
    many = await generate(ctx, streams);
  },
  baseline: {
    label: `destkit dev-null write, 1 stream (${grouped(records)} records, a STATE every ${STATE_EVERY})`,
    run: (ctx) =>
      ctx.runConnectorWrite('dev-null', SILENT, { input: generatedInput(one, 'streams') }),
  },
  candidate: {
    label: `destkit dev-null write, ${grouped(streams)} interleaved streams (same records, a STATE every ${STATE_EVERY} per stream)`,
    run: (ctx) =>
      ctx.runConnectorWrite('dev-null', SILENT, { input: generatedInput(many, 'streams') }),
  },
};

export default scenario;
