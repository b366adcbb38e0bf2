import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SystemError } from '../../src/errors/destkit-error.js';
import { echoStateLine } from '../../src/protocol/state-echo.js';

const echo = (raw: string, count: number) => echoStateLine(Buffer.from(raw), count).toString();

describe(echoStateLine, () => {
  describe('byte faithfulness', () => {
    it('inserts destinationStats and keeps every other byte (100.0, big integers, id)', () => {
      const raw =
        '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"big":12345678901234567890,"f":1.50}},"sourceStats":{"recordCount":100.0},"id":17}}';
      expect(echo(raw, 42)).toBe(
        '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"big":12345678901234567890,"f":1.50}},"sourceStats":{"recordCount":100.0},"id":17,"destinationStats":{"recordCount":42}}}',
      );
    });

    it('replaces an existing destinationStats value in place', () => {
      expect(
        echo('{"type":"STATE","state":{"destinationStats" : {"recordCount":1.0},"id":3}}', 7),
      ).toBe('{"type":"STATE","state":{"destinationStats" : {"recordCount":7},"id":3}}');
    });

    it('inserts into an empty state without a comma', () => {
      expect(echo('{"type":"STATE","state":{ }}', 0)).toBe(
        '{"type":"STATE","state":{ "destinationStats":{"recordCount":0}}}',
      );
    });

    it('drops trailing CR and whitespace only', () => {
      expect(echo(' {"state":{"a":1} , "type":"STATE"} \r', 1)).toBe(
        ' {"state":{"a":1,"destinationStats":{"recordCount":1}} , "type":"STATE"}',
      );
    });

    it('ignores "state" keys that are nested or inside strings', () => {
      const raw =
        '{"x":{"state":{}},"y":"\\"state\\":{}","type":"STATE","state":{"data":{"state":{"destinationStats":1}}}}';
      expect(echo(raw, 5)).toBe(
        '{"x":{"state":{}},"y":"\\"state\\":{}","type":"STATE","state":{"data":{"state":{"destinationStats":1}},"destinationStats":{"recordCount":5}}}',
      );
    });

    it('recognizes an escaped "state" key and uses the last one, as JSON.parse does', () => {
      const raw = '{"state":{"old":true},"type":"STATE","\\u0073tate":{"new":true}}';
      const out = echo(raw, 2);
      expect(out).toBe(
        '{"state":{"old":true},"type":"STATE","\\u0073tate":{"new":true,"destinationStats":{"recordCount":2}}}',
      );
      expect(JSON.parse(out).state).toEqual({ new: true, destinationStats: { recordCount: 2 } });
    });

    it('handles strings ending in escaped backslashes and braces', () => {
      const raw = '{"type":"STATE","state":{"a":"}\\\\","b":"{\\"","c":["]",{"}":"["}]}}';
      expect(JSON.parse(echo(raw, 3)).state).toEqual({
        ...JSON.parse(raw).state,
        destinationStats: { recordCount: 3 },
      });
    });
  });

  describe('errors', () => {
    it.each([
      ['{"type":"STATE"}'],
      ['{"type":"STATE","state":[1]}'],
      ['{"type":"STATE","state":"secret-value"}'],
      ['[{"state":{}}]'],
      ['{"type":"STATE","state":{"a":"unterminated'],
      ['{"type":"STATE","state":{"a" 1}}'],
    ])('rejects %s without quoting it', (raw) => {
      let thrown: unknown;
      try {
        echoStateLine(Buffer.from(raw), 1);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SystemError);
      expect((thrown as Error).message).not.toMatch(/secret|unterminated/);
    });

    it.each([-1, 1.5, Number.NaN, 2 ** 53])('rejects recordCount %s', (count) => {
      expect(() => echoStateLine(Buffer.from('{"state":{}}'), count)).toThrow(SystemError);
    });
  });

  describe('property: echo = input + destinationStats, nothing else changed', () => {
    /** JSON values with number *text*, so that 1.0, -0 and big integers can be written. */
    type Node =
      | { t: 'obj'; entries: [string, Node][] }
      | { t: 'arr'; items: Node[] }
      | { t: 'str'; v: string }
      | { t: 'raw'; text: string };

    const key = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.constantFrom('state', 'destinationStats', 'type', 'id', 'stream', '{', '"', '\\', '}"'),
    );
    const str = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 10 }),
      fc.constantFrom('"state":{', '\\', '}', '\\"', '{"destinationStats":1}', '\u2028'),
    );
    const numberText = fc.oneof(
      fc.integer().map(String),
      fc.integer().map((n) => `${n}.0`),
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
      fc.constantFrom('-0', '1E+2', '0.5e-3', '100.0', '12345678901234567890'),
    );
    const { node } = fc.letrec<{ node: Node }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        str.map((v): Node => ({ t: 'str', v })),
        numberText.map((text): Node => ({ t: 'raw', text })),
        fc.constantFrom<Node>({ t: 'raw', text: 'true' }, { t: 'raw', text: 'null' }),
        fc.array(tie('node'), { maxLength: 4 }).map((items): Node => ({ t: 'arr', items })),
        fc
          .array(fc.tuple(key, tie('node')), { maxLength: 4 })
          .map((entries): Node => ({ t: 'obj', entries })),
      ),
    }));
    const objectNode = fc
      .array(fc.tuple(key, node), { maxLength: 5 })
      .map((entries): Node => ({ t: 'obj', entries }));

    /** The input: a STATE message with a state object placed at a random top-level position. */
    const input = fc.record({
      before: fc.array(fc.tuple(key, node), { maxLength: 3 }),
      after: fc.array(
        fc.tuple(
          key.filter((k) => k !== 'state'),
          node,
        ),
        { maxLength: 3 },
      ),
      state: objectNode,
      stats: fc.option(node, { nil: undefined }),
      statsAt: fc.nat(),
      seed: fc.integer(),
      count: fc.nat({ max: 2 ** 40 }),
    });

    /** Serializes with random whitespace and random (valid) string escapes. */
    function serialize(root: Node, seed: number): string {
      let x = seed | 0;
      const rnd = (n: number) => {
        // mulberry32
        x = (x + 0x6d2b79f5) | 0;
        let t = Math.imul(x ^ (x >>> 15), 1 | x);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) % n;
      };
      const ws = () => ['', '', '', ' ', '\t', '  ', '\r'][rnd(7)];
      const encode = (s: string) => {
        let out = '"';
        for (const ch of s) {
          const code = ch.codePointAt(0) ?? 0;
          const u = (c: number) => `\\u${c.toString(16).padStart(4, '0')}`;
          const escaped =
            code > 0xffff ? [...ch].map((unit) => u(unit.charCodeAt(0))).join('') : u(code);
          if (ch === '"') out += rnd(2) ? '\\"' : escaped;
          else if (ch === '\\') out += rnd(2) ? '\\\\' : escaped;
          else if (code < 0x20) out += JSON.stringify(ch).slice(1, -1);
          else if (ch === '/') out += rnd(2) ? '\\/' : '/';
          else out += rnd(6) === 0 ? escaped : ch;
        }
        return `${out}"`;
      };
      const write = (n: Node): string => {
        switch (n.t) {
          case 'str':
            return encode(n.v);
          case 'raw':
            return n.text;
          case 'arr':
            return `[${ws()}${n.items.map((i) => `${write(i)}${ws()}`).join(`,${ws()}`)}]`;
          case 'obj':
            return `{${ws()}${n.entries
              .map(([k, v]) => `${encode(k)}${ws()}:${ws()}${write(v)}${ws()}`)
              .join(`,${ws()}`)}}`;
        }
      };
      return `${ws()}${write(root)}${ws()}`;
    }

    it('parses to the input with destinationStats set, and differs only there', () => {
      fc.assert(
        fc.property(input, ({ before, after, state, stats, statsAt, seed, count }) => {
          const stateEntries = state.t === 'obj' ? [...state.entries] : [];
          if (stats !== undefined) {
            stateEntries.splice(statsAt % (stateEntries.length + 1), 0, [
              'destinationStats',
              stats,
            ]);
          }
          const message: Node = {
            t: 'obj',
            entries: [
              ...before,
              ['type', { t: 'str', v: 'STATE' }],
              ['state', { t: 'obj', entries: stateEntries }],
              ...after,
            ],
          };
          const raw = Buffer.from(serialize(message, seed));
          const out = echoStateLine(raw, count);

          const parsed = JSON.parse(raw.toString());
          parsed.state.destinationStats = { recordCount: count };
          expect(JSON.parse(out.toString())).toEqual(parsed);

          // Byte check: outside one changed region, echo and (trimmed) input are identical.
          const trimmed = raw.subarray(0, raw.toString('latin1').trimEnd().length);
          let prefix = 0;
          while (prefix < trimmed.length && trimmed[prefix] === out[prefix]) prefix++;
          const rawRest = trimmed.length - prefix;
          let suffix = 0;
          while (
            suffix < rawRest &&
            suffix < out.length - prefix &&
            trimmed[trimmed.length - 1 - suffix] === out[out.length - 1 - suffix]
          ) {
            suffix++;
          }
          const added = out.subarray(prefix, out.length - suffix).toString();
          const removed = trimmed.subarray(prefix, trimmed.length - suffix);
          const hasStats = stateEntries.some(([k]) => k === 'destinationStats');
          if (hasStats) {
            // Only the old stats value was replaced: the differing bytes are inside the new one.
            expect(`{"recordCount":${count}}`).toContain(added);
          } else {
            // Pure insertion: removing the inserted member gives back the input bytes.
            expect(removed.length).toBe(0);
            expect(added).toMatch(/^,?"destinationStats":\{"recordCount":\d+\}$/);
            expect(added).toContain(`:${count}}`);
          }
        }),
        { numRuns: 1000 },
      );
    });
  });
});
