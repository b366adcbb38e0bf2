/** Medians, number formatting and the machine description of the bench tables. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** 1234567 → "1,234,567" (no locale dependence). */
export function grouped(value: number): string {
  return Math.round(value)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

export const MiB = 1024 * 1024;

export function mib(kib: number | undefined): string {
  return kib === undefined ? '—' : fixed(kib / 1024, 0);
}

/** Reads an integer environment variable with a default; throws on a bad value. */
export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** e.g. "commit e18c32d (uncommitted changes)". */
export function commitLine(repoRoot: string): string {
  const commit = git(['rev-parse', '--short', 'HEAD'], repoRoot);
  if (commit === undefined) return 'commit unknown';
  const dirty = (git(['status', '--porcelain'], repoRoot) ?? '').length > 0;
  return `commit ${commit}${dirty ? ' (with uncommitted changes)' : ''}`;
}

export function machineLine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return (
    `${availableParallelism()} CPUs (${model}), ${fixed(totalmem() / 1024 ** 3, 1)} GiB RAM, ` +
    `Node ${process.version}, ${process.platform} ${process.arch}`
  );
}

export function loadLine(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** DESTKIT_* variables of the environment (they change every candidate's knobs). */
export function destkitEnv(): string[] {
  return Object.entries(process.env)
    .filter(([k]) => k.startsWith('DESTKIT_'))
    .map(([k, v]) => `${k}=${v ?? ''}`);
}
