/**
 * Bundles each built connector executable (`dist/connectors/destination-*`): its `main.js` and
 * `entry.js` (what `destkit <name> …` runs), both overwritten in place, and the input worker's
 * script beside them, with the JavaScript packages they import. Node's ES module loader resolves, reads and links every file of a package one by
 * one; inversify alone is some 250 small modules, which took about 150 ms of every start. A
 * bundle is a few files. Code behind a dynamic `import()` (the connector itself, which `spec`
 * does not load) stays in a chunk of its own.
 *
 * Packages with native code or optional platform parts stay external and load from
 * node_modules as before. Run after `tsc` (`npm run build`); the library (`dist/src`, the
 * destkit CLI included) is not bundled: a connector from outside the repository shares its
 * module instances.
 */
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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
