/**
 * The per-sync directory of spill files, under the configured temp dir. Created at the start of
 * a sync and removed with everything in it at the end — on success and on failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors/destkit-error.js';

export class SpillDirectoryError extends ConfigError {
  override readonly code = 'SPILL_DIRECTORY';
}

export class SpillDirectory {
  readonly path: string;
  #sequence = 0;

  constructor(tempDir: string) {
    try {
      this.path = mkdtempSync(join(tempDir, `destkit-spill-${process.pid}-`));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new SpillDirectoryError(
        `cannot create a spill directory under ${tempDir} (${code}); set temp_dir / DESTKIT_TEMP_DIR to a writable directory`,
        { cause: error },
      );
    }
  }

  /** A fresh file path for a spill file of stream number `streamNumber`. */
  nextFile(streamNumber: number): string {
    this.#sequence++;
    return join(this.path, `s${streamNumber}-${this.#sequence}.jsonl`);
  }

  /** Removes the directory and every file in it; safe to call more than once. */
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
