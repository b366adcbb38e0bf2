/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time summed per function
 * (name + script + line), the top N printed as a markdown table.
 *
 *   node dist/test/bench/profile-summary.js FILE.cpuprofile [N=10]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function location(url: string, line: number): string {
  if (url === '') return '';
  let path = url;
  if (url.startsWith('file://')) path = relative(process.cwd(), fileURLToPath(url));
  path = path.replace(/^.*node_modules\//, 'node_modules/');
  return `${path}:${line + 1}`;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: profile-summary FILE.cpuprofile [N]\n');
    process.exitCode = 2;
    return;
  }
  const top = Number(topArg ?? 10);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<string, number>();
  const byScript = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const node = byId.get(id);
    if (node === undefined) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'}\t${location(url, lineNumber)}`;
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + delta);
    // Natives without a script (GC, syscalls such as `read`, `writeBuffers`) count on their own.
    const native = functionName.startsWith('(') ? functionName : `(native) ${functionName}`;
    const script = url === '' ? native : location(url, -1).replace(/:0$/, '');
    byScript.set(script, (byScript.get(script) ?? 0) + delta);
  });
  const rows = [...selfMicros.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [
    `profile: ${file}, ${(total / 1e6).toFixed(2)} s sampled`,
    '',
    '| # | self ms | self % | function | where |',
    '|---:|---:|---:|---|---|',
    ...rows.map(([key, micros], i) => {
      const [name, where] = key.split('\t');
      return `| ${i + 1} | ${(micros / 1000).toFixed(0)} | ${((100 * micros) / total).toFixed(1)} | \`${name}\` | ${where ? `\`${where}\`` : ''} |`;
    }),
  ];
  const scripts = [...byScript.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  lines.push(
    '',
    '| # | self ms | self % | script |',
    '|---:|---:|---:|---|',
    ...scripts.map(
      ([script, micros], i) =>
        `| ${i + 1} | ${(micros / 1000).toFixed(0)} | ${((100 * micros) / total).toFixed(1)} | \`${script}\` |`,
    ),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
