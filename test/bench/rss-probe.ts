/**
 * Preloaded into a measured child (`node --import <this file> …`): at exit, writes the peak
 * resident set size of the process (`process.resourceUsage().maxRSS`, KiB on Linux) to the file
 * named by BENCH_PEAK_RSS_FILE. Runs on `process.exit()` and on a natural exit; a process killed
 * by a signal writes nothing.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.BENCH_PEAK_RSS_FILE;
if (target !== undefined && target.length > 0) {
  // Not inherited by anything this process spawns.
  delete process.env.BENCH_PEAK_RSS_FILE;
  process.on('exit', () => {
    try {
      writeFileSync(target, `${process.resourceUsage().maxRSS}\n`);
    } catch {
      // the bench reports the peak RSS as unknown
    }
  });
}
