/** Reads the JSON files a connector is started with; errors name the file, never its content. */
import { readFile } from 'node:fs/promises';
import { errnoCode } from '../errors/errno.js';
import { UnreadableFileError } from './config-errors.js';

export async function readJsonFile(what: string, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    const problem =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : `read failed (${code ?? 'unknown error'})`;
    throw new UnreadableFileError(what, path, problem, error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // JSON.parse's own message quotes the content, which may hold secrets: never keep it.
    throw new UnreadableFileError(what, path, 'it is not valid JSON');
  }
}
