#!/usr/bin/env node
/**
 * The README demo: generates a sample sync (3 streams), runs it through a connector as a child
 * process speaking the protocol over pipes, and prints what happened.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSampleSync } from './generate-command.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

async function main(): Promise<number> {
  const dir = resolve('.destkit-demo');
  mkdirSync(dir, { recursive: true });
  const records = Number(process.env.DESTKIT_DEMO_RECORDS ?? 100_000);
  const catalogPath = join(dir, 'catalog.json');
  const messagesPath = join(dir, 'messages.jsonl');
  const configPath = join(dir, 'config.json');
  const outputPath = join(dir, 'output.jsonl');
  await writeSampleSync(
    { records, streams: 3, stateEvery: 10_000 },
    catalogPath,
    createWriteStream(messagesPath),
  );
  writeFileSync(configPath, `${JSON.stringify({ mode: 'silent' }, null, 2)}\n`);
  process.stderr.write(`destkit demo: ${records} sample records in 3 streams → dev-null\n`);
  const started = Date.now();
  const code = await new Promise<number>((done, fail) => {
    const child = spawn(
      process.execPath,
      [CLI, 'dev-null', 'write', '--config', configPath, '--catalog', catalogPath],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    createReadStream(messagesPath).pipe(child.stdin);
    child.stdout.pipe(createWriteStream(outputPath));
    child.on('error', fail);
    child.on('close', (c) => done(c ?? 1));
  });
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(
    `\ndestkit demo: exit ${code} in ${seconds.toFixed(2)} s. The echoed states are in ${outputPath};\n` +
      `inputs in ${dir}. Run it yourself:\n  node ${CLI} dev-null write --config ${configPath} --catalog ${catalogPath} < ${messagesPath}\n`,
  );
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `destkit demo failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
