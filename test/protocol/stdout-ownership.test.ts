/**
 * Guards the rule that the OutputWriter is the single owner of stdout: no other code in src/ or
 * connectors/ prints to stdout (a stray console.log would put a non-protocol line, or half a
 * line, into the message stream). Logs go to stderr; protocol messages go through OutputWriter.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return entries
    .filter((name: string) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .map((name: string) => join(dir, name));
}

/** console methods that print to stdout, and non-empty writes to process.stdout. */
const STDOUT_USE = [
  /\bconsole\.(log|info|debug|dir|dirxml|table|group|groupCollapsed|count|timeLog|timeEnd)\s*\(/,
  /\bprocess\.stdout\.write\s*\(\s*(?!''|""|``)/,
];
const OWNER = join('src', 'protocol', 'output-writer.ts');

describe('stdout ownership', () => {
  it('only the OutputWriter prints to stdout', () => {
    const offenders: string[] = [];
    for (const file of [
      ...sourceFiles(join(root, 'src')),
      ...sourceFiles(join(root, 'connectors')),
    ]) {
      const path = relative(root, file);
      if (path === OWNER) continue;
      for (const [index, text] of readFileSync(file, 'utf8').split('\n').entries()) {
        // A command printed for people to copy (inside a template string) is not a call.
        if (text.trimStart().startsWith('`')) continue;
        if (STDOUT_USE.some((pattern) => pattern.test(text)))
          offenders.push(`${path}:${index + 1}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('detects a stray console.log (the guard can fail)', () => {
    expect(STDOUT_USE.some((p) => p.test('  console.log("debug", x);'))).toBe(true);
    expect(STDOUT_USE.some((p) => p.test("process.stdout.write(line + '\\n')"))).toBe(true);
    expect(STDOUT_USE.some((p) => p.test("process.stdout.write('', done)"))).toBe(false);
    expect(STDOUT_USE.some((p) => p.test('console.error("to stderr")'))).toBe(false);
  });
});
