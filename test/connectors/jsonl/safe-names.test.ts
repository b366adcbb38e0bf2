/** The JSONL connector's name mapping: safe, inside destination_path, injective. */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_SEGMENT_BYTES,
  namespaceSegment,
  safeSegment,
  streamFileLocation,
  tempFileGeneration,
  tempFileName,
} from '../../../connectors/destination-jsonl/safe-names.js';

const ROOT = resolve('/srv/destkit/out');

/** Inverse of the plain (untruncated) encoding: escapes to bytes, then WTF-8 to a JS string. */
function decodeSegment(segment: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; ) {
    if (segment[i] === '%') {
      const hex = segment.slice(i + 1, i + 3);
      expect(hex).toMatch(/^[0-9A-F]{2}$/);
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
      continue;
    }
    const char = String.fromCodePoint(segment.codePointAt(i)!);
    bytes.push(...Buffer.from(char, 'utf8'));
    i += char.length;
  }
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    const [length, bits] =
      lead < 0x80
        ? [1, lead]
        : lead < 0xe0
          ? [2, lead & 0x1f]
          : lead < 0xf0
            ? [3, lead & 0x0f]
            : [4, lead & 0x07];
    let codePoint = bits;
    for (let k = 1; k < length; k++) codePoint = (codePoint << 6) | (bytes[i + k]! & 0x3f);
    out += String.fromCodePoint(codePoint);
    i += length;
  }
  return out;
}

const hostileFragment = fc.constantFrom(
  '.',
  '..',
  '../',
  '..\\',
  '/',
  '\\',
  '\u0000',
  '\n',
  '\u007f',
  '\u0085',
  '\u2028',
  '%',
  '%2E',
  '%~',
  '%empty',
  '_default',
  'CON',
  'nul.txt',
  'com1',
  ' ',
  '"',
  "'",
  '*',
  ':',
  '~',
  'é',
  'e\u0301',
  '🚀',
  '\ud800',
  '\udfff',
  '.jsonl',
  '.jsonl.gen-1.tmp',
  'x'.repeat(120),
);
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const hostileName = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: anyCodeUnit, maxLength: 30 }),
  fc
    .array(fc.oneof(hostileFragment, fc.string({ unit: 'grapheme', maxLength: 4 })), {
      maxLength: 10,
    })
    .map((parts) => parts.join('')),
  fc.string({ unit: 'grapheme', minLength: 100, maxLength: 400 }),
);
const descriptor = fc.record({
  namespace: fc.option(hostileName, { nil: undefined }),
  name: hostileName,
});

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

describe('safeSegment', () => {
  it.each([
    ['users', 'users'],
    ['ünïcødé 🚀', 'ünïcødé 🚀'],
    ['he said "hi"', 'he said %22hi%22'],
    ['.', '%2E'],
    ['..', '%2E%2E'],
    ['.hidden', '%2Ehidden'],
    ['../../etc/passwd', '%2E.%2F..%2Fetc%2Fpasswd'],
    ['a\\b', 'a%5Cb'],
    ['nul\u0000byte', 'nul%00byte'],
    ['line\nbreak', 'line%0Abreak'],
    ['100%', '100%25'],
    ['trailing.', 'trailing%2E'],
    ['trailing ', 'trailing%20'],
    [' leading', ' leading'],
    ['CON', '%43ON'],
    ['con.txt', '%63on.txt'],
    ['console', 'console'],
    ['lone\ud800', 'lone%ED%A0%80'],
    ['', '%empty'],
  ])('maps %j to %j', (name, expected) => {
    expect(safeSegment(name)).toBe(expected);
  });

  it('truncates a long name to at most 200 bytes with a hash suffix', () => {
    const segment = safeSegment('x'.repeat(1000));
    expect(bytes(segment)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(segment).toMatch(/^x{182}%~[0-9a-f]{16}$/);
    expect(safeSegment('x'.repeat(1001))).not.toBe(segment);
  });

  it('never cuts an escape or a multi-byte character', () => {
    for (const name of ['é'.repeat(300), '/'.repeat(300), `${'a'.repeat(181)}/${'b'.repeat(50)}`]) {
      const prefix = safeSegment(name).split('%~')[0]!;
      expect(prefix).not.toMatch(/%[0-9A-F]?$/);
      expect(Buffer.from(prefix, 'utf8').toString('utf8')).toBe(prefix);
      expect(bytes(prefix)).toBeGreaterThan(178);
    }
  });

  it('keeps a name of exactly 200 bytes whole', () => {
    expect(safeSegment('y'.repeat(200))).toBe('y'.repeat(200));
    expect(safeSegment('y'.repeat(201))).toMatch(/%~/);
  });
});

describe('namespaceSegment', () => {
  it('maps no namespace and the empty namespace to _default, and a literal _default apart', () => {
    expect(namespaceSegment(undefined)).toBe('_default');
    expect(namespaceSegment(null)).toBe('_default');
    expect(namespaceSegment('')).toBe('_default');
    expect(namespaceSegment('_default')).toBe('%5Fdefault');
    expect(namespaceSegment('public')).toBe('public');
  });
});

describe('streamFileLocation', () => {
  it('places the file at <root>/<namespace>/<stream>.jsonl', () => {
    expect(streamFileLocation(ROOT, 'public', 'users').file).toBe(
      resolve(ROOT, 'public', 'users.jsonl'),
    );
    expect(streamFileLocation(ROOT, undefined, '..').file).toBe(
      resolve(ROOT, '_default', '%2E%2E.jsonl'),
    );
  });

  it('stays inside the file-system root itself', () => {
    const location = streamFileLocation('/', '..', '..');
    expect(location.file).toBe(resolve('/', '%2E%2E', '%2E%2E.jsonl'));
  });

  it('property: every file is a plain file of a directory directly inside the root', () => {
    fc.assert(
      fc.property(descriptor, ({ namespace, name }) => {
        const { root, directory, baseName, file } = streamFileLocation(ROOT, namespace, name);
        expect(root).toBe(ROOT);
        expect(resolve(file)).toBe(file);
        const rel = relative(ROOT, file);
        expect(isAbsolute(rel)).toBe(false);
        const parts = rel.split(sep);
        expect(parts).toHaveLength(2);
        for (const part of parts) {
          expect(part).not.toMatch(/^\.|[/\\\p{Cc}]/u);
          expect(bytes(part)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES + '.jsonl'.length);
        }
        expect(resolve(directory, `${baseName}.jsonl`)).toBe(file);
        // the temp file of the largest generation still fits a 255-byte file name
        expect(bytes(tempFileName(baseName, Number.MAX_SAFE_INTEGER))).toBeLessThanOrEqual(255);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: distinct streams map to distinct files', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(descriptor, {
          // the catalog treats an absent and an empty namespace as the same stream
          selector: (d) => `${d.namespace ?? ''}\u0000${d.name}`,
          minLength: 2,
          maxLength: 40,
        }),
        (streams) => {
          const files = new Set(
            streams.map((s) => streamFileLocation(ROOT, s.namespace, s.name).file),
          );
          expect(files.size).toBe(streams.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: long names that share a long prefix stay distinct', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 200, maxLength: 300 }),
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 20 }),
        (prefix, a, b) => {
          fc.pre(a !== b);
          expect(safeSegment(prefix + a)).not.toBe(safeSegment(prefix + b));
        },
      ),
    );
  });
});

describe('the plain encoding', () => {
  it('property: decodes back to the name when it is not truncated (so it is injective)', () => {
    fc.assert(
      fc.property(hostileName, (name) => {
        const segment = safeSegment(name);
        fc.pre(name !== '' && !segment.includes('%~'));
        expect(decodeSegment(segment)).toBe(name);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('temp file names', () => {
  it('reads back the generation of its own stream only', () => {
    expect(tempFileGeneration('users', tempFileName('users', 7))).toBe(7);
    expect(tempFileGeneration('users', 'users.jsonl')).toBeUndefined();
    expect(tempFileGeneration('users', 'users.jsonl.gen-x.tmp')).toBeUndefined();
    expect(tempFileGeneration('users', tempFileName('users.jsonl.gen-1.tmp', 2))).toBeUndefined();
    expect(tempFileGeneration('users.jsonl.gen-1.tmp', tempFileName('users', 1))).toBeUndefined();
  });

  it('property: a stream never claims another stream’s temp or real file', () => {
    fc.assert(
      fc.property(hostileName, hostileName, fc.nat(), (a, b, generation) => {
        fc.pre(a !== b);
        const [sa, sb] = [safeSegment(a), safeSegment(b)];
        expect(tempFileGeneration(sa, tempFileName(sb, generation))).toBeUndefined();
        expect(tempFileGeneration(sa, `${sb}.jsonl`)).toBeUndefined();
        expect(tempFileGeneration(sa, tempFileName(sa, generation))).toBe(generation);
      }),
      { numRuns: 1000 },
    );
  });
});
