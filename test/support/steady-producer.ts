import { setTimeout as nextDue } from 'node:timers/promises';

/**
 * Calls `publish(0)`, `publish(1)`, … at `perSecond`, as a steady producer
 * would, until `count` events or `stop()`; what fell due while a slow
 * `publish` ran (a promise is awaited) goes out at once. Fault tests need
 * such a producer so that a fault lands mid-stream: here the clock is the
 * thing under test's input, a rate, and this is the one place tests wait on
 * it; nothing here waits for a condition.
 * @returns how many were published.
 */
export async function publishSteadily(
  perSecond: number,
  publish: (n: number) => unknown,
  until: { readonly count?: number; readonly stop?: () => boolean } = {},
): Promise<number> {
  const count = until.count ?? Number.POSITIVE_INFINITY;
  const started = performance.now();
  let n = 0;
  while (n < count && until.stop?.() !== true) {
    const elapsedMs = performance.now() - started;
    const due = Math.min(count, Math.floor((elapsedMs / 1000) * perSecond) + 1);
    for (; n < due && until.stop?.() !== true; n++) await publish(n);
    if (n < count) await nextDue(Math.max(1, (n / perSecond) * 1000 - (performance.now() - started)));
  }
  return n;
}
