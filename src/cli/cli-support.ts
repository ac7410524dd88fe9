import { Option } from 'commander';
import { pino } from 'pino';
import type { Logger } from '../index.js';

/** Default Redis channel per stream, as Enduro names them. */
export const DEFAULT_CHANNELS = { ingest: 'enduro-ingest-events', storage: 'enduro-storage-events' } as const;

/** A stream of monitor events. */
export type StreamName = keyof typeof DEFAULT_CHANNELS;

/** The channel of `stream`: `--channel`, else `TIDINGS_<STREAM>_CHANNEL`, else Enduro's default. */
export function channelFor(stream: StreamName, explicit: string | undefined): string {
  const fromEnv = process.env[stream === 'ingest' ? 'TIDINGS_INGEST_CHANNEL' : 'TIDINGS_STORAGE_CHANNEL'];
  return explicit ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CHANNELS[stream]);
}

/** An error the user caused (bad input, bad option): printed without a stack, exit code 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses a base-10 integer option within bounds, naming the option when it is not one. */
export function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
}

/** `--redis <url>`, also from `TIDINGS_REDIS_URL`. */
export function redisOption(required: boolean): Option {
  const option = new Option(
    '--redis <url>',
    'Redis address, e.g. redis://user:pass@host:6379/0 (rediss:// for TLS)',
  ).env('TIDINGS_REDIS_URL');
  return required ? option.default('redis://127.0.0.1:6379') : option;
}

/** `--log-level <level>`, also from `TIDINGS_LOG_LEVEL`. */
export function logLevelOption(fallback: string): Option {
  return new Option('--log-level <level>', 'log level of the JSON logs on stderr')
    .choices(['debug', 'info', 'warn', 'error', 'silent'])
    .default(fallback)
    .env('TIDINGS_LOG_LEVEL');
}

/** A pino logger writing JSON lines to stderr, so stdout stays for the command's output. */
export function stderrLogger(level: string): Logger {
  return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }));
}

/** Resolves once SIGINT or SIGTERM arrives; then the signal. */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
