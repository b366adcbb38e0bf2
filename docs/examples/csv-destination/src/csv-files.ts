/**
 * Where a stream's file lives, and the few durable file operations the connector needs:
 * appends that are on disk when they return, and the repair of a last line cut by a crash.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A name as one safe path segment: anything but letters, digits, `_` and `-` is escaped. */
export function safeSegment(name: string): string {
  if (name === '') return '%empty';
  return name.replace(/[^\p{L}\p{N}_-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')]
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
      .join(''),
  );
}

/** `<root>/<namespace or _default>/<stream>.csv`. */
export function streamFile(root: string, namespace: string | undefined, name: string): string {
  const directory =
    namespace === undefined || namespace === '' ? '_default' : safeSegment(namespace);
  return join(root, directory, `${safeSegment(name)}.csv`);
}

/** The file a truncate refresh of `generation` writes before it replaces the stream file. */
export function tempFile(file: string, generation: number): string {
  return `${file}.gen-${generation}.tmp`;
}

export async function ensureDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

/** Appends and fsyncs: when this returns, the bytes survive a crash. */
export async function appendDurably(path: string, data: string): Promise<void> {
  const handle = await open(
    path,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT,
    0o644,
  );
  try {
    await handle.appendFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Cuts an unterminated last line — an append a crash interrupted, never acknowledged — and
 * returns the file's size after that (-1 when there is no file).
 */
export async function repairTail(path: string): Promise<number> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return -1;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const chunk = Buffer.alloc(64 * 1024);
    let keep = 0;
    for (let end = size; end > 0 && keep === 0; end = Math.max(0, end - chunk.length)) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await handle.read(chunk, 0, end - start, start);
      const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (newline >= 0) keep = start + newline + 1;
    }
    if (keep < size) {
      await handle.truncate(keep);
      await handle.datasync();
    }
    return keep;
  } finally {
    await handle.close();
  }
}

/** Deletes the temp files of `file` from generations other than `generation`. */
export async function deleteOtherGenerations(file: string, generation: number): Promise<void> {
  const directory = dirname(file);
  const prefix = `${basename(file)}.gen-`;
  for (const entry of await readdir(directory)) {
    if (entry.startsWith(prefix) && entry !== `${prefix}${generation}.tmp`) {
      await unlink(join(directory, entry));
    }
  }
}
