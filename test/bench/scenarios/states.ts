/**
 * Bench scenario `states`: what STATE messages cost. The same records in one stream through
 * `destkit dev-null write`, with few STATEs against many. Every STATE ends a batch (a
 * process-records task, a hand-over, a checkpoint, an echo), so the candidate's ratio is the
 * share of a sync that frequent STATEs leave to the records. No issue target; it keeps the cost
 * per STATE measured (docs/performance.md, session 10).
 *
 * - baseline: one stream, `BENCH_STATES_RECORDS` records (default 200,000, ~100 MB), a STATE
 *   every 1,000 records;
 * - candidate: the same number of records, a STATE every 10 records (100 times as many).
 *
 * Both inputs are generated in setup by `destkit generate` next to the run's own input (the
 * bench folder) and reused by later runs with the same parameters. Both runs are checked like
 * every connector run (exit code, STATE lines, records persisted in the report).
 */
import { generatedInput, scenarioInput } from '../lib/input.js';
import { envInt, grouped } from '../lib/report.js';
import type { BenchContext, BenchInput, BenchScenario } from '../scenario.js';

const FEW = 1000;
const MANY = 10;
const RECORD_BYTES = 500;
const SILENT = { mode: 'silent' } as const;

let few: BenchInput | undefined;
let many: BenchInput | undefined;

const records = envInt('BENCH_STATES_RECORDS', 200_000);

function generate(ctx: BenchContext, stateEvery: number): Promise<BenchInput> {
  return scenarioInput(ctx, { records, streams: 1, stateEvery, recordBytes: RECORD_BYTES });
}

const scenario: BenchScenario = {
  name: 'states',
  async setup(ctx) {
    few = await generate(ctx, FEW);
    many = await generate(ctx, MANY);
  },
  baseline: {
    label: `destkit dev-null write, 1 stream (${grouped(records)} records, a STATE every ${grouped(FEW)})`,
    run: (ctx) =>
      ctx.runConnectorWrite('dev-null', SILENT, { input: generatedInput(few, 'states') }),
  },
  candidate: {
    label: `destkit dev-null write, the same records with a STATE every ${MANY}`,
    run: (ctx) =>
      ctx.runConnectorWrite('dev-null', SILENT, { input: generatedInput(many, 'states') }),
  },
};

export default scenario;
