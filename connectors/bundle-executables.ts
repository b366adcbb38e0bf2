/**
 * Bundles each built connector executable (`dist/connectors/destination-*`): its `main.js` and
 * `entry.js` (what `destkit <name> …` runs), both overwritten in place, and the input worker's
 * script beside them, with the JavaScript packages they import. Node's ES module loader resolves, reads and links every file of a package one by
 * one; inversify alone is some 250 small modules, which took about 150 ms of every start. A
 * bundle is a few files. Code behind a dynamic `import()` (the connector itself, which `spec`
 * does not load) stays in a chunk of its own.
 *
 * Beside each `main.js`, and beside the destkit CLI's `dist/src/cli/main.js`, it writes a
 * CommonJS launcher `main.cjs` (the package's `bin`): it prints the spec of a plain `spec` from
 * a bundle of the spec module and a few small modules, and imports `main.js` for any other
 * command line. Started with the shebang's `--max-semi-space-size`, node does not use the code
 * cache of its ES-module loader, which costs 20–30 ms at the start of any ES module; a
 * CommonJS script does not pay it (see src/cli/spec-launcher.ts).
 *
 * Packages with native code or optional platform parts stay external and load from
 * node_modules as before. Run after `tsc` (`npm run build`); the library (`dist/src`, the
 * destkit CLI included) is not bundled: a connector from outside the repository shares its
 * module instances. The CLI's launcher hands every command line but `destkit <name> spec` to
 * the unbundled `main.js`.
 */
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { build, type Plugin } from 'esbuild';

const dist = fileURLToPath(new URL('..', import.meta.url));
const EXTERNAL = ['@duckdb/*', 'pg-native', 'pg-cloudflare', 'cloudflare:sockets'];
/** Bundled CommonJS packages call `require`: an ES module has none of its own. */
const REQUIRE_BANNER =
  "import { createRequire as destkitCreateRequire } from 'node:module';\n" +
  'const require = destkitCreateRequire(import.meta.url);';

// Every bundle is built from the `tsc` output before any is put in place: a connector's bundle
// also takes in the other connectors' `entry.js` (src/cli/first-party.js imports them), which
// must still be the unbundled modules then.
const built: { dir: string; out: string }[] = [];
for (const name of readdirSync(`${dist}/connectors`)) {
  if (!name.startsWith('destination-')) continue;
  const dir = `${dist}/connectors/${name}`;
  // Already bundled (no `tsc` output to start from): left as it is.
  if (readFileSync(`${dir}/main.js`, 'utf8').includes('destkitCreateRequire')) continue;
  const out = `${dir}.bundle`;
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: {
      main: `${dir}/main.js`,
      // What `destkit <name> …` runs (src/cli/first-party.ts): the same bundle as `main`.
      entry: `${dir}/entry.js`,
      'input-worker': `${dist}/src/pipeline/input-worker.js`,
    },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    banner: { js: REQUIRE_BANNER },
    chunkNames: 'bundle-chunk-[hash]',
    logLevel: 'warning',
  });
  built.push({ dir, out });
}
for (const { dir, out } of built) {
  for (const file of readdirSync(dir))
    if (file.startsWith('bundle-chunk-')) rmSync(`${dir}/${file}`, { force: true });
  for (const file of readdirSync(out)) renameSync(`${out}/${file}`, `${dir}/${file}`);
  rmSync(out, { recursive: true, force: true });
}

/**
 * The name under which `<dir>/spec.js` exports the given spec: the launcher imports that module
 * alone (bundled as CommonJS, a dynamic `import()` such as an entry's `load` would be inlined).
 */
async function specExport(dir: string, spec: unknown): Promise<string> {
  const module: Record<string, unknown> = await import(pathToFileURL(`${dir}/spec.js`).href);
  const name = Object.keys(module).find((key) => isDeepStrictEqual(module[key], spec));
  if (name === undefined) throw new Error(`${dir}/spec.js does not export the connector's spec`);
  return name;
}

/**
 * Writes the launcher `main.cjs` beside `main.js`, with `main.js`'s shebang (its node flags):
 * `launch(<specToPrint>, main.js, argv, <workerToStart>)` of src/cli/spec-launcher.ts, with the
 * given imports.
 */
async function bundleLauncher(
  main: string,
  imports: string[],
  specToPrint: string,
  workerToStart: string,
) {
  const shebang = readFileSync(main, 'utf8').split('\n', 1)[0] ?? '';
  if (!shebang.startsWith('#!')) throw new Error(`${main} has no shebang`);
  const launcher = `${dist}/src/cli/spec-launcher.js`;
  await build({
    stdin: {
      contents: [
        shebang,
        `import { connectorSpec, connectorWorker, firstPartySpec, firstPartyWorker, launch } from ${JSON.stringify(launcher)};`,
        ...imports,
        `const { join } = require('node:path');`,
        `launch(${specToPrint}, join(__dirname, 'main.js'), process.argv.slice(2), ${workerToStart});`,
      ].join('\n'),
      resolveDir: dirname(main),
      sourcefile: 'launcher-entry.js',
      loader: 'js',
    },
    outfile: main.replace(/\.js$/, '.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    plugins: [NO_DYNAMIC_IMPORT],
    logLevel: 'warning',
  });
}

/**
 * Fails a launcher's build on a dynamic `import()` it reaches: in CommonJS output esbuild
 * inlines its target, even in code it drops as unused, and a plain `spec` would load it all.
 */
const NO_DYNAMIC_IMPORT: Plugin = {
  name: 'no-dynamic-import',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'dynamic-import'
        ? { errors: [{ text: `a launcher must not import() ${args.path} (in ${args.importer})` }] }
        : undefined,
    );
  },
};

for (const name of readdirSync(`${dist}/connectors`)) {
  if (!name.startsWith('destination-')) continue;
  const dir = `${dist}/connectors/${name}`;
  const { entry } = await import(pathToFileURL(`${dir}/entry.js`).href);
  const spec = await specExport(dir, entry.spec);
  await bundleLauncher(
    `${dir}/main.js`,
    [`import { ${spec} } from './spec.js';`],
    `connectorSpec(${spec})`,
    'connectorWorker(__dirname)',
  );
}

const { FIRST_PARTY_CONNECTORS } = await import(
  pathToFileURL(`${dist}/src/cli/first-party.js`).href
);
const imports: string[] = [];
const specs: string[] = [];
for (const [name, connector] of Object.entries<{ loadSpec: () => Promise<unknown> }>(
  FIRST_PARTY_CONNECTORS,
)) {
  // `loadSpec` imports `connectors/destination-<name>/spec.js`.
  const dir = `${dist}/connectors/destination-${name}`;
  const spec = await specExport(dir, await connector.loadSpec());
  imports.push(`import { ${spec} } from ${JSON.stringify(`${dir}/spec.js`)};`);
  specs.push(`${JSON.stringify(name)}: ${spec}`);
}
await bundleLauncher(
  `${dist}/src/cli/main.js`,
  imports,
  `firstPartySpec({ ${specs.join(', ')} })`,
  `firstPartyWorker(join(__dirname, '..', '..', 'connectors'), ${JSON.stringify(Object.keys(FIRST_PARTY_CONNECTORS))})`,
);
