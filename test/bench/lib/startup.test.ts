import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shebangNodeFlags } from './startup.js';

const dir = mkdtempSync(join(tmpdir(), 'destkit-shebang-'));
function script(firstLine: string): string {
  const path = join(dir, `s${readdirSync(dir).length}.js`);
  writeFileSync(path, `${firstLine}\nconsole.log(1);\n`);
  return path;
}

describe('shebangNodeFlags', () => {
  it('reads the node flags of an executable script', () => {
    expect(
      shebangNodeFlags(script('#!/usr/bin/env -S node --max-semi-space-size=4 --no-warnings')),
    ).toEqual(['--max-semi-space-size=4', '--no-warnings']);
    expect(shebangNodeFlags(script('#!/usr/bin/env -S node'))).toEqual([]);
  });

  it('has none for a script without a node shebang', () => {
    expect(shebangNodeFlags(script('import x from "y";'))).toEqual([]);
    expect(shebangNodeFlags(script('#!/usr/bin/env python3 -u'))).toEqual([]);
  });

  it("matches destkit's own executables (built or not)", () => {
    const source = readFileSync(
      new URL('../../../connectors/destination-dev-null/main.ts', import.meta.url),
      'utf8',
    ).split('\n', 1)[0];
    expect(shebangNodeFlags(script(source ?? ''))).toEqual([
      '--max-semi-space-size=4',
      '--min-semi-space-size=4',
    ]);
  });
});
