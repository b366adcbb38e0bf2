/**
 * Maps namespace and stream names (any UTF-8 string, even any JS string) to safe, portable path
 * segments, and stream descriptors to files inside `destination_path`. Pure: no I/O.
 *
 * The mapping (docs/connectors/jsonl.md "File names"):
 * - '%' and the unsafe code points are percent-encoded as the upper-case hex of their UTF-8
 *   bytes: `/`, `\`, control characters (C0, DEL, C1), U+2028/U+2029, `< > : " | ? *`,
 *   a leading `.` (so no `.`, `..` or hidden file), a trailing `.` or space, and the first
 *   letter of a Windows device name (`CON`, `nul.txt`, `COM1`…). A lone surrogate is encoded as
 *   its WTF-8 bytes (`%ED%A0%80`), which valid UTF-8 never contains.
 * - Everything else, including non-ASCII letters and emoji, is kept.
 * - An empty name becomes `%empty`.
 * - An encoded name over 200 bytes keeps its longest prefix of whole characters and escapes
 *   that fits 182 bytes, followed by `%~` and 16 hex digits of the SHA-256 of the full encoded
 *   name (exactly 200 bytes or fewer).
 * - The absent (or empty) namespace is the directory `_default`; a namespace literally named
 *   `_default` is `%5Fdefault`.
 * Why it is injective: the plain encoding is reversible (decode the escapes, then the WTF-8
 * bytes), `%empty` and `%~` are never produced by an escape (which is `%` and two upper-case
 * hex digits), and two truncated names differ unless their 64-bit hashes collide.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UnsafePathError } from './jsonl-errors.js';

/** The longest segment in bytes; leaves room for `.jsonl.gen-<generation>.tmp` under 255. */
export const MAX_SEGMENT_BYTES = 200;
const HASH_HEX_DIGITS = 16;
const TRUNCATED_MARK = '%~';
const TRUNCATED_PREFIX_BYTES = MAX_SEGMENT_BYTES - TRUNCATED_MARK.length - HASH_HEX_DIGITS;

export const DEFAULT_NAMESPACE_DIRECTORY = '_default';
export const EMPTY_NAME_SEGMENT = '%empty';
export const FILE_EXTENSION = '.jsonl';

/** Characters that are never kept, wherever they stand. */
const ALWAYS_UNSAFE = /[%/\\<>:"|?*\p{Cc}\u2028\u2029]/u;
/** Windows device names, reserved even with an extension and trailing spaces. */
const DEVICE_NAME = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]) *(?:\..*)?$/isu;

function hex(byte: number): string {
  return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** UTF-8 bytes of one code point; for a lone surrogate, its WTF-8 bytes. */
function codePointBytes(codePoint: number): number[] {
  if (codePoint < 0x80) return [codePoint];
  if (codePoint < 0x800) return [0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f)];
  if (codePoint < 0x10000) {
    return [0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f)];
  }
  return [
    0xf0 | (codePoint >> 18),
    0x80 | ((codePoint >> 12) & 0x3f),
    0x80 | ((codePoint >> 6) & 0x3f),
    0x80 | (codePoint & 0x3f),
  ];
}

function isLoneSurrogate(codePoint: number): boolean {
  return codePoint >= 0xd800 && codePoint <= 0xdfff;
}

/** The reversible part of the mapping, as a list of units (kept characters or escapes). */
function encodeUnits(name: string): string[] {
  const chars = Array.from(name); // code points; a lone surrogate stays one element
  const device = DEVICE_NAME.test(name);
  return chars.map((char, i) => {
    const codePoint = char.codePointAt(0)!;
    const unsafe =
      ALWAYS_UNSAFE.test(char) ||
      isLoneSurrogate(codePoint) ||
      (i === 0 && (char === '.' || device)) ||
      (i === chars.length - 1 && (char === '.' || char === ' '));
    return unsafe ? codePointBytes(codePoint).map(hex).join('') : char;
  });
}

/** The safe path segment of a namespace or stream name (see the file header). */
export function safeSegment(name: string): string {
  if (name === '') return EMPTY_NAME_SEGMENT;
  const units = encodeUnits(name);
  const encoded = units.join('');
  if (Buffer.byteLength(encoded, 'utf8') <= MAX_SEGMENT_BYTES) return encoded;
  const hash = createHash('sha256').update(encoded, 'utf8').digest('hex').slice(0, HASH_HEX_DIGITS);
  let prefix = '';
  let bytes = 0;
  for (const unit of units) {
    const unitBytes = Buffer.byteLength(unit, 'utf8');
    if (bytes + unitBytes > TRUNCATED_PREFIX_BYTES) break;
    prefix += unit;
    bytes += unitBytes;
  }
  return `${prefix}${TRUNCATED_MARK}${hash}`;
}

/** The directory segment of a namespace: `_default` when absent or empty. */
export function namespaceSegment(namespace: string | null | undefined): string {
  if (namespace === undefined || namespace === null || namespace === '') {
    return DEFAULT_NAMESPACE_DIRECTORY;
  }
  if (namespace === DEFAULT_NAMESPACE_DIRECTORY) return '%5Fdefault';
  return safeSegment(namespace);
}

/** Where one stream's data lives. All paths are absolute and inside `root`. */
export interface StreamFileLocation {
  /** The resolved `destination_path`. */
  readonly root: string;
  /** `<root>/<namespace segment>`. */
  readonly directory: string;
  /** The stream's safe segment, without extension. */
  readonly baseName: string;
  /** `<directory>/<baseName>.jsonl`. */
  readonly file: string;
}

/** True when `target` is strictly inside `root` (both absolute and normalized). */
export function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel !== '' && !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`);
}

/** The file of a stream under `root`; throws UnsafePathError if it would not be inside. */
export function streamFileLocation(
  root: string,
  namespace: string | null | undefined,
  name: string,
): StreamFileLocation {
  const resolvedRoot = resolve(root);
  const directory = join(resolvedRoot, namespaceSegment(namespace));
  const baseName = safeSegment(name);
  const file = join(directory, `${baseName}${FILE_EXTENSION}`);
  const rel = relative(resolvedRoot, file);
  if (
    !isInside(resolvedRoot, directory) ||
    !isInside(directory, file) ||
    rel.split(sep).length !== 2
  ) {
    throw new UnsafePathError(
      `refusing to write stream file ${file}: it would not be a file of a directory directly under ${resolvedRoot}`,
    );
  }
  return { root: resolvedRoot, directory, baseName, file };
}

/** The temp file a truncate refresh of `generation` writes before replacing the real file. */
export function tempFileName(baseName: string, generation: number): string {
  return `${baseName}${FILE_EXTENSION}.gen-${generation}.tmp`;
}

/** The generation of `fileName` if it is a temp file of the stream `baseName`, else undefined. */
export function tempFileGeneration(baseName: string, fileName: string): number | undefined {
  const head = `${baseName}${FILE_EXTENSION}.gen-`;
  if (!fileName.startsWith(head) || !fileName.endsWith('.tmp')) return undefined;
  const digits = fileName.slice(head.length, fileName.length - '.tmp'.length);
  return /^[0-9]+$/.test(digits) ? Number(digits) : undefined;
}
