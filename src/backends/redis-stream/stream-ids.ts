/**
 * Redis stream IDs (`<ms>-<seq>`, two unsigned 64-bit decimals) compared
 * exactly: as decimal strings without leading zeros, the longer is larger,
 * and equal lengths compare as text. No BigInt per comparison on the
 * delivery path.
 */
export function compareIds(a: string, b: string): number {
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  const ms = compareDecimals(a.slice(0, dashA), b.slice(0, dashB));
  return ms !== 0 ? ms : compareDecimals(a.slice(dashA + 1), b.slice(dashB + 1));
}

function compareDecimals(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const MAX_U64 = (1n << 64n) - 1n;

/**
 * The canonical form of an ID read from outside (a position), or undefined
 * when a part does not fit in 64 bits: Redis would refuse it.
 */
export function canonicalId(id: string): string | undefined {
  const dash = id.indexOf('-');
  const ms = BigInt(id.slice(0, dash));
  const seq = BigInt(id.slice(dash + 1));
  if (ms > MAX_U64 || seq > MAX_U64) return undefined;
  return `${ms}-${seq}`;
}

/** Before every ID Redis hands out. */
export const START_ID = '0-0';
