/**
 * What every bench script shares, so that their figures mean the same thing:
 * candidates run in interleaved rounds (each round in a rotated order, so
 * drift on a shared machine hits every candidate alike), results are reported
 * as the median with its spread (min–max over the rounds), the machine's load
 * over the run is printed beside them, targets end in a `met` / `MISSED`
 * verdict, and tables print as Markdown.
 *
 * Every script takes `--rounds N` to trade time for confidence.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';

// ------------------------------------------------------------------ statistics

/** The value at quantile `q` (0..1) of values sorted ascending: nearest rank, never interpolated. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** The median; of an even count, the mean of the two middle values. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Repeated measurements of one figure: its median and how far the runs spread. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** How many runs. */
  readonly n: number;
}

/** The median, lowest and highest of `values`. */
export function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** A unit after the number (` M/s`, `%`, `x`), to be said once rather than three times. */
const UNIT = /[^\d.]*$/;

/**
 * `median (min–max)`, each number through `format`, the unit said once
 * (`5.74 M/s (3.05–7.15)`); a single run, or no spread, prints alone.
 */
export function withSpread(summary: Summary, format: (value: number) => string): string {
  const middle = format(summary.median);
  let low = format(summary.min);
  let high = format(summary.max);
  if (summary.n <= 1 || low === high) return middle;
  const unit = UNIT.exec(middle)?.[0] ?? '';
  if (unit !== '' && low.endsWith(unit) && high.endsWith(unit)) {
    low = low.slice(0, -unit.length);
    high = high.slice(0, -unit.length);
  }
  return `${middle} (${low}–${high})`;
}

/** {@link summarize} then {@link withSpread}. */
export function spreadOf(values: readonly number[], format: (value: number) => string): string {
  return withSpread(summarize(values), format);
}

// ------------------------------------------------------------------ formatting

/** A whole number with thousands separators: `1,500,000`. */
export const int = (value: number): string => Math.round(value).toLocaleString('en-US');

/** Events per second: `6.45 M/s`, `75.3 k/s`. */
export function formatRate(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M/s` : `${(value / 1e3).toFixed(1)} k/s`;
}

/** A share as a percentage with one decimal: `12.7%`. */
export const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;

/** A ratio: `2.21x`. */
export const times = (ratio: number): string => `${ratio.toFixed(2)}x`;

/**
 * A Markdown table, padded to line up in a terminal. By default the first
 * column is left-aligned and the others (numbers) right-aligned.
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned?: boolean[],
): string {
  const right = rightAligned ?? headers.map((_, i) => i > 0);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${widths.map((w, i) => (right[i] ? (cells[i] ?? '').padStart(w) : (cells[i] ?? '').padEnd(w))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

// ------------------------------------------------------------------ rounds

/** `--rounds N` from the command line, else `fallback`. */
export function roundsOption(fallback: number): number {
  const at = process.argv.indexOf('--rounds');
  if (at < 0) return fallback;
  const rounds = Number(process.argv[at + 1]);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new TypeError(`--rounds: expected a positive integer, got ${process.argv[at + 1]}`);
  return rounds;
}

/**
 * Runs every candidate once per round, the order rotated by one each round,
 * and collects each candidate's results in round order. `progress` sees each
 * result as it comes (the scripts print it to stderr).
 */
export async function interleaved<C, R>(
  rounds: number,
  candidates: readonly C[],
  run: (candidate: C, round: number) => Promise<R>,
  progress?: (candidate: C, round: number, result: R) => void,
): Promise<Map<C, R[]>> {
  const results = new Map<C, R[]>(candidates.map((candidate) => [candidate, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[(i + round) % candidates.length] as C;
      const result = await run(candidate, round);
      results.get(candidate)?.push(result);
      progress?.(candidate, round, result);
    }
  }
  return results;
}

/**
 * Runs `work`, and aborts it (its signal, then a rejection) once `progress()`
 * has not moved for `stallMs`: a run that lost events fails, saying so,
 * instead of waiting forever for them.
 */
export async function failOnStall<T>(
  work: (signal: AbortSignal) => Promise<T>,
  progress: () => number,
  stallMs: number,
  what: string,
): Promise<T> {
  const controller = new AbortController();
  let seen = progress();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const now = progress();
      if (now !== seen) {
        seen = now;
        return;
      }
      const error = new Error(`${what}: no progress for ${stallMs} ms at ${now}: events were lost`);
      controller.abort(error);
      reject(error);
    }, stallMs);
  });
  try {
    return await Promise.race([work(controller.signal), stalled]);
  } finally {
    clearInterval(timer);
  }
}

// ------------------------------------------------------------------ machine load

/** How busy the machine was while a bench ran: it is shared, and other work moves the numbers. */
export interface LoadReport {
  readonly cpus: number;
  /** 1-minute load average at start, at end, and the highest seen in between (sampled every 2 s). */
  readonly loadStart: number;
  readonly loadEnd: number;
  readonly loadMax: number;
  /** Share of all CPUs' time spent idle over the run (the bench's own processes count as busy). */
  readonly idle: number;
  readonly seconds: number;
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, irq } = cpu.times;
    idle += cpu.times.idle;
    total += user + nice + sys + irq + cpu.times.idle;
  }
  return { idle, total };
}

/** Starts watching the machine's load; `stop()` reports it. */
export function watchLoad(): { stop(): LoadReport } {
  const started = performance.now();
  const times = cpuTimes();
  const loadStart = loadavg()[0] ?? 0;
  let loadMax = loadStart;
  const timer = setInterval(() => {
    loadMax = Math.max(loadMax, loadavg()[0] ?? 0);
  }, 2_000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const now = cpuTimes();
      const loadEnd = loadavg()[0] ?? 0;
      return {
        cpus: cpus().length,
        loadStart,
        loadEnd,
        loadMax: Math.max(loadMax, loadEnd),
        idle: (now.idle - times.idle) / Math.max(1, now.total - times.total),
        seconds: (performance.now() - started) / 1_000,
      };
    },
  };
}

export function describeLoad(report: LoadReport): string {
  return (
    `machine: ${report.cpus} CPUs; load average (1 min) ${report.loadStart.toFixed(2)} at start, ` +
    `${report.loadMax.toFixed(2)} at most, ${report.loadEnd.toFixed(2)} at end; CPU idle over the run ` +
    `${(report.idle * 100).toFixed(0)}% (this bench's own processes count as busy); ${report.seconds.toFixed(0)} s`
  );
}

/** The first line of every bench: what ran where, and how busy the machine was as it started. */
export function describeSetup(title: string): string {
  return (
    `${title} (node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} CPUs, ` +
    `load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' / ')} over 1 / 5 / 15 min)`
  );
}

// ------------------------------------------------------------------ verdicts

/** Targets a bench checks; `print()` lists them and sets a failing exit code if any was missed. */
export class Verdicts {
  readonly #lines: string[] = [];
  #missed = 0;

  /** Records `- what: detail: met|MISSED`. */
  check(what: string, detail: string, ok: boolean): boolean {
    if (!ok) this.#missed++;
    this.#lines.push(`- ${what}: ${detail}: ${ok ? 'met' : 'MISSED'}`);
    return ok;
  }

  /** A line that is not a target (a comparison printed beside them). */
  note(line: string): void {
    this.#lines.push(`  ${line}`);
  }

  print(): void {
    console.log(`\nTargets\n${this.#lines.join('\n')}`);
    if (this.#missed > 0) process.exitCode = 1;
  }
}

// ------------------------------------------------------------------ fresh processes

type Reply<R> = { ok: true; result: R } | { ok: false; error: string };

/**
 * Runs `script` with `args` in a fresh Node process (same loader, plus
 * `execArgv`) and resolves with what it {@link reply}s; rejects with the
 * child's error.
 */
export async function inChild<R>(
  script: string,
  args: readonly string[],
  execArgv: readonly string[] = [],
): Promise<R> {
  const child: ChildProcess = fork(script, [...args], { execArgv: [...process.execArgv, ...execArgv] });
  const exited = once(child, 'exit');
  const [message] = (await Promise.race([once(child, 'message'), exited])) as [Reply<R> | number | null];
  if (typeof message !== 'object' || message === null) throw new Error(`${args.join(' ')}: exited with ${message}`);
  await exited;
  if (!message.ok) throw new Error(`${args.join(' ')}: ${message.error}`);
  return message.result;
}

/**
 * The child side of {@link inChild}: sends the result of `work` (or its
 * error) to the parent and exits, whatever timers or listeners are left. Run
 * by hand (no parent, e.g. under `--cpu-prof`), it prints the result instead.
 */
export async function reply(work: () => Promise<unknown>): Promise<void> {
  let message: Reply<unknown>;
  try {
    message = { ok: true, result: await work() };
  } catch (error) {
    message = { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  if (process.send) process.send(message, () => process.exit(0));
  else {
    console.log(JSON.stringify(message));
    process.exit(0);
  }
}
