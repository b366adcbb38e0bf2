/**
 * docs/writing-a-connector.md walks through the example in docs/examples/csv-destination: every
 * file it shows must be the example's file, byte for byte, so that the walk-through is exactly
 * what CI builds and tests (.ci/run).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DOC = fileURLToPath(new URL('../../docs/writing-a-connector.md', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../docs/examples/csv-destination/', import.meta.url));

/** `<!-- file: path … -->` followed by a fenced code block: path → the block's text. */
function shownFiles(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  const pattern = /<!-- file: (\S+)[^>]*-->\n```[a-z]*\n([\s\S]*?)```\n/g;
  for (const match of markdown.matchAll(pattern)) files.set(match[1]!, match[2]!);
  return files;
}

const shown = shownFiles(readFileSync(DOC, 'utf8'));

describe('docs/writing-a-connector.md', () => {
  it('shows every source, test and config file of the example', () => {
    expect([...shown.keys()].sort()).toEqual(
      [
        'package.json',
        'tsconfig.json',
        'tsconfig.build.json',
        'vitest.config.ts',
        'src/spec.ts',
        'src/csv-format.ts',
        'src/csv-files.ts',
        'src/csv-writer.ts',
        'src/index.ts',
        'src/main.ts',
        'test/csv-format.test.ts',
        'test/csv.conformance.test.ts',
        'test/csv.property.test.ts',
      ].sort(),
    );
  });

  for (const [path, text] of shown) {
    if (path === 'package.json') continue;
    it(`shows ${path} as it is in the example`, () => {
      expect(text).toBe(readFileSync(`${EXAMPLE}${path}`, 'utf8'));
    });
  }

  it('shows the example package.json before its dependencies are installed', () => {
    const doc = JSON.parse(shown.get('package.json')!) as Record<string, unknown>;
    const example = JSON.parse(readFileSync(`${EXAMPLE}package.json`, 'utf8')) as Record<
      string,
      unknown
    >;
    const { dependencies, devDependencies, description: _d, engines: _e, ...rest } = example;
    expect(doc).toEqual(rest);
    expect(Object.keys(dependencies as object)).toEqual(['destkit']);
    expect(Object.keys(devDependencies as object).sort()).toEqual([
      '@types/node',
      'fast-check',
      'typescript',
      'vitest',
    ]);
  });
});
