/**
 * The few file operations the JSONL connector needs, each durable when it returns: appends are
 * fdatasync'ed, new directory entries (created directories and files, renames) are made durable
 * by fsync'ing their directory. Errors are raw Node.js errors; callers map them with
 * `fileSystemError`, which knows what the operation was for.
 */
import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode } from '../../src/errors/errno.js';
import { JsonlPathConflictError } from './jsonl-errors.js';

/** O_NOFOLLOW where the platform has it: a symlink in place of a stream file is refused (ELOOP). */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NO_FOLLOW;
const FILE_MODE = 0o644;
const TAIL_CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** Errors of a directory fsync that only mean "this file system does not do that". */
const UNSUPPORTED_DIRECTORY_SYNC = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM']);

/** Makes the entries of a directory durable (after a create or a rename in it). */
export async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (UNSUPPORTED_DIRECTORY_SYNC.has(errnoCode(error) ?? '')) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!UNSUPPORTED_DIRECTORY_SYNC.has(errnoCode(error) ?? '')) throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Creates `path` and its missing parents, durably. With `followSymlink` false, `path` itself
 * must be a real directory, not a symlink to one. Returns whether anything was created.
 */
export async function ensureDirectory(path: string, followSymlink: boolean): Promise<boolean> {
  const firstCreated = await mkdir(path, { recursive: true });
  const info = followSymlink ? await stat(path) : await lstat(path);
  if (!info.isDirectory()) {
    throw new JsonlPathConflictError(
      followSymlink
        ? `${path} is not a directory`
        : `${path} is not a directory (a symbolic link is not followed)`,
    );
  }
  if (firstCreated === undefined) return false;
  // Every created level is a new entry of its parent: sync from the deepest up.
  for (let level = path; ; level = dirname(level)) {
    await syncDirectory(dirname(level));
    if (level === firstCreated || dirname(level) === level) break;
  }
  return true;
}

/** Appends `data` to `path` (created when missing) and returns once the bytes are on disk. */
export async function appendDurably(path: string, data: Buffer): Promise<void> {
  const handle = await open(path, APPEND_FLAGS, FILE_MODE);
  try {
    if (data.length > 0) await handle.appendFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Cuts `path` back to `size` bytes, durably (to undo a failed append). */
export async function truncateDurably(path: string, size: number): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | NO_FOLLOW);
  try {
    await handle.truncate(size);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

export interface TailRepair {
  /** Whether the file exists. */
  readonly exists: boolean;
  /** Its size after the repair: the end of its last complete line. */
  readonly size: number;
  /** Bytes of an unterminated last line that were removed. */
  readonly droppedBytes: number;
}

/**
 * Removes an unterminated last line: the remains of an append that was interrupted (a crash, a
 * kill) and therefore never acknowledged — every acknowledged append ends with a newline.
 */
export async function repairTail(path: string): Promise<TailRepair> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDWR | NO_FOLLOW);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { exists: false, size: 0, droppedBytes: 0 };
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const chunk = Buffer.alloc(Math.min(TAIL_CHUNK_BYTES, Math.max(size, 1)));
    let keep = 0;
    for (let end = size; end > 0; ) {
      const length = Math.min(chunk.length, end);
      const start = end - length;
      const { bytesRead } = await handle.read(chunk, 0, length, start);
      const newline = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE);
      if (newline >= 0) {
        keep = start + newline + 1;
        break;
      }
      end = start;
    }
    if (keep < size) {
      await handle.truncate(keep);
      await handle.datasync();
    }
    return { exists: true, size: keep, droppedBytes: size - keep };
  } finally {
    await handle.close();
  }
}
