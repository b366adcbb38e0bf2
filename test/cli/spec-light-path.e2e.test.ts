/**
 * A plain `spec` loads only the connector's spec and destkit's small runner modules: no package
 * from node_modules (inversify, commander, pino, ajv, database drivers), no pipeline, not the
 * connector's definition. Checked by the module URLs node resolves (and the modules inside the
 * bundle files among them), not by timing; other command lines still load the whole connector.
 * The same for the CommonJS launchers (`main.cjs`, the installed executables), which answer a
 * plain spec themselves and must behave as `main.js` for every command line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

const CONNECTORS = ['dev-null', 'jsonl', 'duckdb', 'postgres'];

/** A connector's executable: `main.js` (ES module) or its CommonJS launcher `main.cjs`. */
function connectorMain(name: string, file: 'main.js' | 'main.cjs' = 'main.js'): string {
  return fileURLToPath(
    new URL(`../../dist/connectors/destination-${name}/${file}`, import.meta.url),
  );
}

/** The destkit CLI as an ES module, behind its launcher `CLI` (main.cjs). */
const CLI_ESM = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const LAUNCHERS = [CLI, ...CONNECTORS.map((name) => connectorMain(name, 'main.cjs'))];

/**
 * The connector executables and the launchers are bundles (connectors/bundle-executables.ts): a
 * bundle file holds many modules, each under a `// <path>` comment that esbuild writes. Those
 * count as loaded too, as `bundled:/<path>` (a path from the package root, e.g.
 * `/node_modules/inversify/…`).
 */
function modulesInBundle(url: string): string[] {
  if (
    !url.startsWith('file:') ||
    !/\/dist\/(connectors\/[^/]+\/[^/]+\.c?js|src\/cli\/main\.cjs)$/.test(url)
  )
    return [];
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

/**
 * A module of the pipeline or the task runtime. The launchers bundle one module of the pipeline
 * on purpose, early-input-worker.js (it starts a `write`'s input worker thread ahead): it imports
 * nothing, and a plain `spec` only defines its functions.
 */
function isPipelineModule(url: string): boolean {
  return /\/(pipeline|runtime)\//.test(url) && !url.endsWith('/src/pipeline/early-input-worker.js');
}

const CASES: [string, string, string[]][] = [
  ...CONNECTORS.flatMap((name): [string, string, string[]][] => [
    [`destination-${name}/main.js spec`, connectorMain(name), ['spec']],
    [`destination-${name}/main.cjs spec`, connectorMain(name, 'main.cjs'), ['spec']],
  ]),
  ['destkit (main.js) dev-null spec', CLI_ESM, ['dev-null', 'spec']],
  ['destkit (main.js) duckdb spec', CLI_ESM, ['duckdb', 'spec']],
  ['destkit (main.cjs) dev-null spec', CLI, ['dev-null', 'spec']],
  ['destkit (main.cjs) duckdb spec', CLI, ['duckdb', 'spec']],
];

describe('a plain spec', () => {
  for (const [label, script, args] of CASES) {
    it(`${label} prints one SPEC without loading the connector or any package`, async () => {
      const { result, modules } = await runLogged(script, args);
      expect(result.code).toBe(0);
      expect(parseProtocolOutput(result.stdout).map((m) => m.type)).toEqual(['SPEC']);
      expect(modules.some((url) => url.endsWith('/spec.js'))).toBe(true);
      expect(modules.filter((url) => url.includes('/node_modules/'))).toEqual([]);
      expect(modules.filter(isPipelineModule)).toEqual([]);
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

/** Runs a `check` that succeeds (asserted); returns the modules it loaded (see runLogged). */
async function checkSucceeds(script: string, args: string[]): Promise<string[]> {
  const { result, modules } = await runLogged(script, args);
  expect(result.code).toBe(0);
  expect(parseProtocolOutput(result.stdout)).toEqual([
    { type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } },
  ]);
  return modules;
}

describe('destkit <first-party connector> beyond spec', () => {
  it("runs the connector's bundle: no file of a package or of destkit's pipeline is resolved on its own", async () => {
    const f = writeJsonFiles({ 'config.json': { mode: 'silent' } });
    const modules = await checkSucceeds(CLI, ['dev-null', 'check', '--config', f['config.json']!]);
    const resolvedFiles = modules.filter((url) => url.startsWith('file:'));
    expect(resolvedFiles.some((url) => /\/destination-dev-null\/entry\.js$/.test(url))).toBe(true);
    // Inside the bundle: the runner and its packages.
    expect(modules.some((url) => url.startsWith('bundled:/node_modules/commander/'))).toBe(true);
    expect(resolvedFiles.filter((url) => url.includes('/node_modules/'))).toEqual([]);
    expect(resolvedFiles.filter((url) => /\/dist\/src\/(pipeline|runtime)\//.test(url))).toEqual(
      [],
    );
  });

  it('duckdb check loads @duckdb/node-api with require, never through the ESM loader (which lexes each of its CommonJS files first)', async () => {
    const f = writeJsonFiles({ 'config.json': {} });
    writeFileSync(
      f['config.json']!,
      JSON.stringify({ path: join(dirname(f['config.json']!), 'check.duckdb') }),
    );
    for (const script of [connectorMain('duckdb'), CLI]) {
      const args = script === CLI ? ['duckdb'] : [];
      const modules = await checkSucceeds(script, [
        ...args,
        'check',
        '--config',
        f['config.json']!,
      ]);
      expect(modules.some((url) => /\/destination-duckdb\//.test(url))).toBe(true);
      expect(modules.filter((url) => url.includes('@duckdb'))).toEqual([]);
    }
  });
});

/**
 * Stdout without what differs between two runs of one command line: the time of a TRACE, and
 * the frames of node's own module loader at the bottom of its stack trace (started by the
 * launcher's `import()`, `main.js` has one fewer).
 */
function comparable(stdout: string): string {
  return stdout
    .replace(/"emitted_at":\d+/g, '"emitted_at":0')
    .replace(/\\n {4}at [^"\\]*\(node:internal\/[^)]*\)/g, '');
}

describe('the CommonJS launchers (main.cjs)', () => {
  for (const name of CONNECTORS) {
    it(`destination-${name}: a plain spec prints what main.js prints, byte for byte`, async () => {
      const [esm, cjs] = await Promise.all([
        runCli(['spec'], { script: connectorMain(name) }),
        runCli(['spec'], { script: connectorMain(name, 'main.cjs') }),
      ]);
      expect([esm.code, cjs.code]).toEqual([0, 0]);
      expect(cjs.stdout).toBe(esm.stdout);
      expect(cjs.stderr).toBe('');
    });

    it(`destkit ${name} spec prints what the CLI's main.js prints, byte for byte`, async () => {
      const [esm, cjs] = await Promise.all([
        runCli([name, 'spec'], { script: CLI_ESM }),
        runCli([name, 'spec'], { script: CLI }),
      ]);
      expect([esm.code, cjs.code]).toEqual([0, 0]);
      expect(cjs.stdout).toBe(esm.stdout);
    });
  }

  const config = writeJsonFiles({ 'config.json': { mode: 'silent' } })['config.json']!;
  const HANDED_OVER: [string, string, string[]][] = [
    ['destination-dev-null', connectorMain('dev-null'), ['spec', '--log-level', 'debug']],
    ['destination-dev-null', connectorMain('dev-null'), ['check', '--config', config]],
    ['destination-dev-null', connectorMain('dev-null'), ['no-such-command']],
    ['destination-dev-null', connectorMain('dev-null'), ['spec', '--no-such-option']],
    ['destination-dev-null', connectorMain('dev-null'), ['spec', 'spec']],
    ['destination-dev-null', connectorMain('dev-null'), []],
    ['destkit', CLI_ESM, ['dev-null', 'spec', '--log-level', 'debug']],
    ['destkit', CLI_ESM, ['dev-null', 'check', '--config', config]],
    ['destkit', CLI_ESM, ['connectors']],
    ['destkit', CLI_ESM, ['spec']],
    ['destkit', CLI_ESM, ['no-such-connector', 'spec']],
    ['destkit', CLI_ESM, ['__proto__', 'spec']],
    ['destkit', CLI_ESM, []],
  ];
  for (const [label, esmScript, args] of HANDED_OVER) {
    it(`${label} ${args.join(' ')}: the same exit code and stdout as main.js`, async () => {
      const cjsScript = esmScript.replace(/\.js$/, '.cjs');
      const [esm, cjs] = await Promise.all([
        runCli(args, { script: esmScript }),
        runCli(args, { script: cjsScript }),
      ]);
      expect(cjs.code).toBe(esm.code);
      expect(comparable(cjs.stdout)).toBe(comparable(esm.stdout));
    });
  }

  for (const launcher of LAUNCHERS) {
    const label = launcher.split('/dist/')[1];
    it(`${label} bundles spec modules and small runner modules only`, () => {
      const text = readFileSync(launcher, 'utf8');
      const modules = modulesInBundle(pathToFileURL(launcher).href);
      expect(modules.some((m) => m.endsWith('/spec.js'))).toBe(true);
      expect(modules.filter((m) => m.includes('/node_modules/'))).toEqual([]);
      expect(modules.filter((m) => isPipelineModule(m) || /\/write\//.test(m))).toEqual([]);
      expect(modules.filter((m) => /\/connectors\/[^/]+\/(index|entry)\.js$/.test(m))).toEqual([]);
      expect(text).not.toMatch(/inversify|pino|commander/);
      // Node's own modules only: a required file would load beside the bundle, unchecked.
      const required = [...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
      expect(required.filter((id) => !id!.startsWith('node:'))).toEqual([]);
      expect(
        text.startsWith('#!/usr/bin/env -S node --max-semi-space-size=4 --min-semi-space-size=4\n'),
      ).toBe(true);
    });
  }
});
