/**
 * The logging surface Tidings uses: a subset of pino's, so a pino logger (or
 * any child of one) can be passed as is. Fields first, message second.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const ignore = (): void => {};

/** The default logger: logs nothing. */
export const silentLogger: Logger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
});

/** Longest text a log line keeps of any one string (message or field). */
export const MAX_LOGGED_CHARS = 300;

/** Items kept of an array, and levels kept of nested objects, in a logged field. */
const MAX_LOGGED_ITEMS = 20;
const MAX_LOGGED_DEPTH = 4;

/**
 * `text` cut to `max` characters, with a marker of its full length: what an
 * attacker puts in a message (a 5 MB event type) never grows a log line past
 * a few hundred characters per field.
 */
export function capText(text: string, max = MAX_LOGGED_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length} chars]`;
}

/** A copy of a logged value with every string capped, arrays and nesting bounded, errors reduced to name and message. */
function capValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return capText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_LOGGED_DEPTH) return '[object]';
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const capped: Record<string, unknown> = { type: capText(value.name), message: capText(value.message) };
    if (typeof code === 'string' || typeof code === 'number') capped.code = capValue(code, depth + 1);
    return capped;
  }
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_LOGGED_ITEMS).map((item) => capValue(item, depth + 1));
    if (value.length > MAX_LOGGED_ITEMS) kept.push(`…[${value.length} items]`);
    return kept;
  }
  const capped: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) capped[capText(key)] = capValue(field, depth + 1);
  return capped;
}

const bounded = new WeakSet<Logger>();

/**
 * `logger` with every message and field capped (strings to
 * {@link MAX_LOGGED_CHARS} characters, errors to their name, code and
 * message), so no value from the outside can make a log line large.
 * Services wrap the logger they are given once, and every log call they
 * make is bounded.
 */
export function boundedLogger(logger: Logger): Logger {
  if (logger === silentLogger || bounded.has(logger)) return logger;
  const wrapped: Logger = {
    debug: (fields, message) => logger.debug(capValue(fields, 0) as Record<string, unknown>, capText(message)),
    info: (fields, message) => logger.info(capValue(fields, 0) as Record<string, unknown>, capText(message)),
    warn: (fields, message) => logger.warn(capValue(fields, 0) as Record<string, unknown>, capText(message)),
    error: (fields, message) => logger.error(capValue(fields, 0) as Record<string, unknown>, capText(message)),
  };
  bounded.add(wrapped);
  return wrapped;
}
