import { capText } from '../../core/logger.js';

/**
 * Why a connection to Redis failed, in words a person at a terminal can act
 * on, followed by the system's or Redis' own message: "connection refused",
 * "host not found", "authentication failed". Neither names a password:
 * ioredis and Redis never echo one back.
 */
export function connectionFailure(error: unknown): string {
  const message = capText(error instanceof Error ? error.message : String(error));
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const meaning = MEANINGS.find(([matches]) => matches(code, message))?.[1];
  return meaning === undefined ? message : `${meaning} (${message})`;
}

const MEANINGS: ReadonlyArray<readonly [(code: unknown, message: string) => boolean, string]> = [
  [(code) => code === 'ECONNREFUSED', 'connection refused: nothing listens at that host and port'],
  [(code) => code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME', 'host not found'],
  [(code) => code === 'ETIMEDOUT', 'connection timed out'],
  [
    (_code, message) => /^(?:WRONGPASS|NOAUTH|ERR invalid password|ERR AUTH)/.test(message),
    'authentication failed: wrong user name or password, or none given',
  ],
];

/**
 * A copy of an error from ioredis that keeps what explains it (name, code,
 * message) and nothing else: ioredis attaches the failed command to its
 * errors, and for AUTH that is the user name and password in clear (for a
 * publish, the payloads). What Tidings hands out as a `cause` is this copy.
 */
export function scrubbed(error: unknown): Error {
  const copy = new Error(error instanceof Error ? error.message : String(error));
  if (error instanceof Error) copy.name = error.name;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}
