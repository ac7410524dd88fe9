import type { Command } from 'commander';
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

/**
 * A command could not do its job for a reason outside its input (Redis
 * refused the connection, its host is unknown, it refused the password):
 * printed as its chain of causes, without a stack, exit code 1. `observed`
 * is the last connection error the service logged, for when the error
 * itself does not say why.
 */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
  readonly observed: string | undefined;

  constructor(message: string, options: { cause: unknown; observed?: string | undefined }) {
    super(message, { cause: options.cause });
    this.observed = options.observed;
  }
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message !== '') return error.message;
  // Node reports a refused dual-stack connect as an AggregateError with no message of its own.
  if (error instanceof AggregateError) return error.errors.map(messageOf).join('; ');
  const { code } = error as { code?: unknown };
  return typeof code === 'string' ? code : error.name;
}

/**
 * What to print for a failed command, one line each: the error's message,
 * then each message of its `cause` chain (and a {@link CommandFailure}'s
 * observed error) that no earlier line already says, so the last line is
 * the deepest cause known.
 */
export function failureLines(error: unknown): string[] {
  const lines: string[] = [];
  const add = (text: string): void => {
    const line = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
    if (line !== '' && !lines.some((earlier) => earlier.includes(line))) lines.push(line);
  };
  const seen = new Set<unknown>();
  for (let current = error; current != null && !seen.has(current); ) {
    seen.add(current);
    add(messageOf(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  if (error instanceof CommandFailure && error.observed !== undefined) add(error.observed);
  return lines;
}

const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['1', true],
  ['yes', true],
  ['false', false],
  ['0', false],
  ['no', false],
]);

/** Reads a boolean environment variable: true/false, 1/0 or yes/no in any case; anything else is a usage error naming it. */
export function parseBooleanEnv(name: string, text: string): boolean {
  const value = BOOLEAN_WORDS.get(text.trim().toLowerCase());
  if (value === undefined) {
    throw new UsageError(`${name} must be true, false, 1, 0, yes or no, got ${JSON.stringify(text)}`);
  }
  return value;
}

/**
 * A `preAction` hook that reads the environment variables of the command's
 * flags strictly. Commander sets a flag whose `.env()` variable is defined,
 * whatever its value (`TIDINGS_METRICS=false` would turn metrics on); here
 * true/1/yes set it, false/0/no leave it off, and anything else is a usage
 * error, even when the flag is also given on the command line (which wins).
 */
export function readFlagsFromEnvStrictly(_hooked: Command, command: Command): void {
  for (const option of command.options) {
    if (option.envVar === undefined || option.required || option.optional) continue;
    const text = process.env[option.envVar];
    if (text === undefined) continue;
    const on = parseBooleanEnv(option.envVar, text);
    const key = option.attributeName();
    if (command.getOptionValueSource(key) === 'env') {
      command.setOptionValueWithSource(key, option.negate ? !on : on, 'env');
    }
  }
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

/** A logger that passes everything on and remembers the error of the last warning or error logged. */
export interface RememberingLogger extends Logger {
  /** The message of the `err` field of the last warning or error, whatever the log level lets through. */
  readonly lastError: string | undefined;
}

/** Wraps `logger` so that a failed command can end with the connection error the service last reported. */
export function rememberingErrors(logger: Logger): RememberingLogger {
  let lastError: string | undefined;
  const remember = (fields: Record<string, unknown>): void => {
    const { err } = fields;
    if (typeof err === 'string') lastError = err;
    else if (err instanceof Error) lastError = failureLines(err).at(-1);
  };
  return {
    get lastError() {
      return lastError;
    },
    debug: (fields, message) => logger.debug(fields, message),
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => {
      remember(fields);
      logger.warn(fields, message);
    },
    error: (fields, message) => {
      remember(fields);
      logger.error(fields, message);
    },
  };
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

/** One backend a command can be pointed at: the option that names it, and how a user spells it. */
export interface BackendChoice<K extends string> {
  readonly kind: K;
  /** The option's attribute name (`redisStream` for `--redis-stream`). */
  readonly key: string;
  readonly flag: string;
  readonly env: string;
}

/**
 * The backend named on the command line, else the one named in the
 * environment, else `undefined` (a default or a config file decides). Two named
 * on the same level are a usage error: nothing is guessed.
 */
export function chosenBackend<K extends string>(command: Command, choices: readonly BackendChoice<K>[]): K | undefined {
  for (const level of ['cli', 'env'] as const) {
    const named = choices.filter((choice) => {
      const value: unknown = command.getOptionValue(choice.key);
      return command.getOptionValueSource(choice.key) === level && value !== undefined && value !== false;
    });
    const [first, second] = named;
    if (second !== undefined) {
      const spell = (choice: BackendChoice<K>): string => (level === 'cli' ? choice.flag : choice.env);
      throw new UsageError(
        `${spell(first as BackendChoice<K>)} and ${spell(second)} name different backends: choose one`,
      );
    }
    if (first !== undefined) return first.kind;
  }
  return undefined;
}

/** `--redis-stream`, in the order {@link chosenBackend} names conflicts. */
export const REDIS_STREAM_CHOICE = {
  kind: 'redis-stream',
  key: 'redisStream',
  flag: '--redis-stream',
  env: 'TIDINGS_REDIS_STREAM',
} as const;
/** `--nats`. */
export const NATS_CHOICE = { kind: 'nats', key: 'nats', flag: '--nats', env: 'TIDINGS_NATS_URL' } as const;
/** `--redis` (pub/sub). */
export const REDIS_CHOICE = { kind: 'redis', key: 'redis', flag: '--redis', env: 'TIDINGS_REDIS_URL' } as const;
