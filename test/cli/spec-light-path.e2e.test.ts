/**
 * A plain `spec` loads only the connector's spec and destkit's small runner modules: no package
 * from node_modules (inversify, commander, pino, ajv, database drivers), no pipeline, not the
 * connector's definition. Checked by the module URLs node resolves (and the modules inside the
 * bundle files among them), not by timing; other command lines still load the whole connector.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseProtocolOutput } from '../helpers/protocol-schema.js';
import { CLI, DEV_NULL_MAIN, runCli, writeJsonFiles } from '../helpers/run-cli.js';

/** Module hooks that print every resolved URL on stderr as `resolved <url>`. */
const HOOKS = `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  process._rawDebug('resolved ' + result.url);
  return result;
}`;
const LOG_MODULES = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`,
)}`;

function connectorMain(name: string): string {
  return fileURLToPath(
    new URL(`../../dist/connectors/destination-${name}/main.js`, import.meta.url),
  );
}

/**
 * The connector executables are bundles (connectors/bundle-executables.ts): a bundle file holds
 * many modules, each under a `// <path>` comment that esbuild writes. Those count as loaded
 * too, as `bundled:/<path>` (a path from the package root, e.g. `/node_modules/inversify/…`).
 */
function modulesInBundle(url: string): string[] {
  if (!url.startsWith('file:') || !/\/dist\/connectors\/[^/]+\/[^/]+\.js$/.test(url)) return [];
  const text = readFileSync(fileURLToPath(url), 'utf8');
  return [...text.matchAll(/^\/\/ ((?:dist|node_modules)\/\S+)$/gm)].map((m) => `bundled:/${m[1]}`);
}

/**
 * Runs `node --import <hooks> script args`; returns the result and the modules loaded: the
 * resolved module URLs and the modules inside the bundle files among them.
 */
async function runLogged(script: string, args: string[]) {
  const result = await runCli(args, { script, nodeFlags: ['--import', LOG_MODULES] });
  const resolved = result.stderr
    .split('\n')
    .filter((l) => l.startsWith('resolved '))
    .map((l) => l.slice('resolved '.length));
  const modules = [...resolved, ...resolved.flatMap(modulesInBundle)];
  return { result, modules };
}

const CASES: [string, string, string[]][] = [
  ...['dev-null', 'jsonl', 'duckdb', 'postgres'].map((name): [string, string, string[]] => [
    `destination-${name} spec`,
    connectorMain(name),
    ['spec'],
  ]),
  ['destkit dev-null spec', CLI, ['dev-null', 'spec']],
  ['destkit duckdb spec', CLI, ['duckdb', 'spec']],
];

describe('a plain spec', () => {
  for (const [label, script, args] of CASES) {
    it(`${label} prints one SPEC without loading the connector or any package`, async () => {
      const { result, modules } = await runLogged(script, args);
      expect(result.code).toBe(0);
      expect(parseProtocolOutput(result.stdout).map((m) => m.type)).toEqual(['SPEC']);
      expect(modules.some((url) => url.endsWith('/spec.js'))).toBe(true);
      expect(modules.filter((url) => url.includes('/node_modules/'))).toEqual([]);
      expect(modules.filter((url) => /\/(pipeline|runtime)\//.test(url))).toEqual([]);
      expect(modules.filter((url) => /\/connectors\/[^/]+\/index\.js$/.test(url))).toEqual([]);
    });
  }
});

describe('other command lines of a connector executable', () => {
  it('load the connector for check', async () => {
    const f = writeJsonFiles({ 'config.json': { mode: 'silent' } });
    const result = await runCli(['check', '--config', f['config.json']!], {
      script: DEV_NULL_MAIN,
    });
    expect(result.code).toBe(0);
    expect(parseProtocolOutput(result.stdout)).toEqual([
      { type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } },
    ]);
  });

  it('parse spec options with the full runner', async () => {
    const { result, modules } = await runLogged(DEV_NULL_MAIN, ['spec', '--log-level', 'debug']);
    expect(result.code).toBe(0);
    expect(parseProtocolOutput(result.stdout).map((m) => m.type)).toEqual(['SPEC']);
    expect(modules.some((url) => url.includes('/node_modules/commander/'))).toBe(true);
  });

  it('reject an unknown spec option as before (exit code 2)', async () => {
    const result = await runCli(['spec', '--no-such-option'], { script: DEV_NULL_MAIN });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("unknown option '--no-such-option'");
  });
});

describe('destkit <first-party connector> beyond spec', () => {
  it("runs the connector's bundle: no file of a package or of destkit's pipeline is resolved on its own", async () => {
    const f = writeJsonFiles({ 'config.json': { mode: 'silent' } });
    const { result, modules } = await runLogged(CLI, [
      'dev-null',
      'check',
      '--config',
      f['config.json']!,
    ]);
    expect(result.code).toBe(0);
    expect(parseProtocolOutput(result.stdout)).toEqual([
      { type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } },
    ]);
    const resolvedFiles = modules.filter((url) => url.startsWith('file:'));
    expect(resolvedFiles.some((url) => /\/destination-dev-null\/entry\.js$/.test(url))).toBe(true);
    // Inside the bundle: the runner and its packages.
    expect(modules.some((url) => url.startsWith('bundled:/node_modules/commander/'))).toBe(true);
    expect(resolvedFiles.filter((url) => url.includes('/node_modules/'))).toEqual([]);
    expect(resolvedFiles.filter((url) => /\/dist\/src\/(pipeline|runtime)\//.test(url))).toEqual(
      [],
    );
  });
});
