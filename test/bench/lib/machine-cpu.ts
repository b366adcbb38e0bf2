/**
 * CPU time the whole machine spent, from Linux's `/proc/stat`: what a row cost in CPU seconds
 * whatever process did the work (the connector, its input worker, a database server's backends).
 * Everything else running on the machine counts too: read it beside the load average.
 */
import { readFileSync } from 'node:fs';

/** Linux reports `/proc/stat` in USER_HZ ticks, 100 per second on every common architecture. */
const TICKS_PER_SECOND = 100;

/**
 * Busy CPU seconds of all cores since boot (user, nice, system, irq, softirq, steal; not idle or
 * iowait), or undefined where `/proc/stat` cannot be read (not Linux).
 */
export function machineCpuSeconds(
  read: () => string = () => readFileSync('/proc/stat', 'utf8'),
): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const line = text.split('\n', 1)[0] ?? '';
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 9) return undefined;
  const [user, nice, system, , , irq, softirq, steal] = fields.slice(1, 9).map(Number);
  const busy = [user, nice, system, irq, softirq, steal];
  if (busy.some((v) => v === undefined || !Number.isFinite(v))) return undefined;
  return busy.reduce((sum: number, v) => sum + (v as number), 0) / TICKS_PER_SECOND;
}
