import { randomBytes } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { Command, Option } from 'commander';
import {
  createMonitorGateway,
  createPrometheusMetrics,
  type DemoProducer,
  type EnduroConfig,
  type IngestEventService,
  loadEnduroConfig,
  newIngestEventServiceInMem,
  newIngestEventServiceRedis,
  newStorageEventServiceInMem,
  newStorageEventServiceRedis,
  OidcAuthenticator,
  type OidcProviderConfig,
  parseTokenList,
  type StorageEventService,
  startDemoProducer,
  type TokenConfig,
} from '../index.js';
import {
  DEFAULT_CHANNELS,
  integer,
  logLevelOption,
  redisOption,
  shutdownSignal,
  stderrLogger,
  UsageError,
} from './cli-support.js';
import { monitorServiceOnNats, natsOption, onNats, subjectFor } from './nats-option.js';

interface ServeOptions {
  redis?: string;
  nats?: string;
  ingestChannel: string;
  storageChannel: string;
  port: number;
  host: string;
  tokens?: string;
  auth: boolean;
  demo?: boolean;
  demoInterval: number;
  pingInterval: number;
  corsOrigin?: string;
  maxStreamsPerToken: number;
  clientBuffer: number;
  clientBacklogBytes: number;
  logLevel: string;
  metrics?: boolean;
  traceContext: boolean;
  enduroConfig?: string;
}

/** `tidings serve`: the monitor gateway and dashboard. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the monitor gateway (SSE streams and the live dashboard)')
    .addOption(redisOption(false))
    .addOption(natsOption())
    .addOption(
      new Option(
        '--enduro-config <file>',
        "Enduro's enduro.toml: Redis addresses and channels from [event] and [storage.event], ENDURO_* variables overriding them as in Enduro",
      ).env('TIDINGS_ENDURO_CONFIG'),
    )
    .addOption(
      new Option('--ingest-channel <name>', 'Redis channel of ingest events')
        .default(DEFAULT_CHANNELS.ingest)
        .env('TIDINGS_INGEST_CHANNEL'),
    )
    .addOption(
      new Option('--storage-channel <name>', 'Redis channel of storage events')
        .default(DEFAULT_CHANNELS.storage)
        .env('TIDINGS_STORAGE_CHANNEL'),
    )
    .addOption(
      new Option('-p, --port <port>', 'TCP port (0: any free port)')
        .default(8080)
        .env('TIDINGS_PORT')
        .argParser(integer('--port', 0, 65535)),
    )
    .addOption(new Option('--host <address>', 'address to listen on').default('127.0.0.1').env('TIDINGS_HOST'))
    .addOption(
      new Option(
        '--tokens <list>',
        'accepted bearer tokens, comma-separated: token[:ingest|:storage][@attr1|attr2] (a scope limits a token to one stream; Enduro attributes such as ingest:* or storage:aips:list limit its events); not given: one random token, printed; given but empty: an error',
      ).env('TIDINGS_TOKENS'),
    )
    .addOption(
      new Option(
        '--no-auth',
        'disable authentication: no token is asked for and every client sees every event (Enduro with [api.auth] enabled = false); prints a warning',
      ),
    )
    .addOption(
      new Option('--demo', 'serve the in-memory backend with a demo producer instead of Redis').env('TIDINGS_DEMO'),
    )
    .addOption(
      new Option('--demo-interval <ms>', 'time between demo workflow steps')
        .default(700)
        .argParser(integer('--demo-interval', 10)),
    )
    .addOption(
      new Option('--ping-interval <ms>', 'interval between ping events on each stream')
        .default(10_000)
        .env('TIDINGS_PING_INTERVAL_MS')
        .argParser(integer('--ping-interval', 10)),
    )
    .addOption(
      new Option('--cors-origin <origins>', 'origins allowed by CORS, comma-separated (default: none)').env(
        'TIDINGS_CORS_ORIGINS',
      ),
    )
    .addOption(
      new Option('--max-streams-per-token <n>', 'concurrent streams one token may hold')
        .default(64)
        .env('TIDINGS_MAX_STREAMS_PER_TOKEN')
        .argParser(integer('--max-streams-per-token', 1)),
    )
    .addOption(
      new Option('--client-buffer <events>', 'events buffered per client before it is disconnected as too slow')
        .default(1024)
        .argParser(integer('--client-buffer', 1)),
    )
    .addOption(
      new Option(
        '--client-backlog-bytes <bytes>',
        'bytes held for a client whose socket is full before it is disconnected as too slow',
      )
        .default(32 * 1024 * 1024)
        .argParser(integer('--client-backlog-bytes', 1)),
    )
    .addOption(
      new Option('--metrics', 'serve metrics in Prometheus text format on GET /metrics (no token)').env(
        'TIDINGS_METRICS',
      ),
    )
    .addOption(
      new Option('--no-trace-context', 'stream events without the trace context (traceparent) they were published in'),
    )
    .addOption(logLevelOption('warn'))
    .addHelpText(
      'after',
      `
The backend is Redis (--redis or TIDINGS_REDIS_URL) or the in-memory demo
(--demo or TIDINGS_DEMO=1); one of the two is required. When both are set, the
one given on the command line wins over the environment. --nats (or
TIDINGS_NATS_URL) serves core NATS subjects instead of Redis channels (the
channel options then name the subjects; default enduro.<stream>.events).

With --enduro-config, Redis addresses and channels default to Enduro's
[event] (ingest) and [storage.event] (storage), with Enduro's ENDURO_*
overrides (ENDURO_EVENT_REDISADDRESS, ENDURO_STORAGE_EVENT_REDISCHANNEL, ...);
--redis, --demo, the channel options and their TIDINGS_* variables win over it.

Browsers authenticate with "Authorization: Bearer <token>" (the dashboard does
this) or "?access_token=<token>" (for EventSource). Open the printed dashboard
URL: the token travels in its #fragment, which is never sent to the server.

Examples:
  $ tidings serve --demo
  $ TIDINGS_TOKENS=s3cret tidings serve --redis redis://127.0.0.1:6379/0 --port 9000
  $ TIDINGS_REDIS_URL=redis://127.0.0.1:6379 TIDINGS_METRICS=yes tidings serve --tokens 'viewer:ingest,admin'`,
    )
    .action(async (options: ServeOptions, command: Command) => {
      const enduro = options.enduroConfig === undefined ? undefined : loadEnduroConfig({ path: options.enduroConfig });
      await serve(options, backendOf(options, command, enduro), authOf(options, command, enduro));
    });
}

/** One stream's Redis address and channel. */
interface RedisStream {
  url: string;
  channel: string;
}

type Backend =
  | { kind: 'redis'; ingest: RedisStream; storage: RedisStream }
  | { kind: 'nats'; url: string; ingest: string; storage: string }
  | { kind: 'demo' };

/**
 * Redis or the in-memory demo. Serving the in-memory backend without the demo
 * would serve nothing (no other process can publish into it), so one of the
 * two must be chosen; when both are, the command line wins over the
 * environment, and both on the same level is an error.
 */
function backendOf(options: ServeOptions, command: Command, enduro: EnduroConfig | undefined): Backend {
  if (options.demo && options.nats !== undefined) {
    if (command.getOptionValueSource('demo') === command.getOptionValueSource('nats')) {
      throw new UsageError('--demo runs on the in-memory backend and --nats on NATS: choose one');
    }
  }
  if (!options.demo && options.nats !== undefined && onNats(command)) {
    // The channel options name the subjects when given; Redis channel names are no default for subjects.
    const given = (name: 'ingestChannel' | 'storageChannel'): string | undefined =>
      command.getOptionValueSource(name) === 'default' ? undefined : options[name];
    return {
      kind: 'nats',
      url: options.nats,
      ingest: subjectFor('ingest', given('ingestChannel')),
      storage: subjectFor('storage', given('storageChannel')),
    };
  }
  const redis = options.redis;
  if (!options.demo) {
    if (redis === undefined && enduro !== undefined) return enduroBackend(options, command, enduro);
    if (redis === undefined) {
      throw new UsageError(
        'serve needs a backend: --redis <url> (or TIDINGS_REDIS_URL) to serve Redis channels, --nats <url> (or TIDINGS_NATS_URL) for NATS subjects, or --demo (or TIDINGS_DEMO=1) for the in-memory demo',
      );
    }
    return redisBackend(options, command, redis, enduro);
  }
  if (redis === undefined) return { kind: 'demo' };
  const demoFromEnv = command.getOptionValueSource('demo') === 'env';
  const redisFromEnv = command.getOptionValueSource('redis') === 'env';
  if (demoFromEnv === redisFromEnv) {
    const [demo, url] = demoFromEnv ? ['TIDINGS_DEMO', 'TIDINGS_REDIS_URL'] : ['--demo', '--redis'];
    throw new UsageError(`${demo} runs on the in-memory backend and ${url} on Redis: choose one`);
  }
  return demoFromEnv ? redisBackend(options, command, redis, enduro) : { kind: 'demo' };
}

/** Both streams on the address of --redis; channels from the options, else Enduro's file, else the defaults. */
function redisBackend(options: ServeOptions, command: Command, url: string, enduro: EnduroConfig | undefined): Backend {
  return {
    kind: 'redis',
    ingest: { url, channel: channelOf(options, command, 'ingest', enduro) },
    storage: { url, channel: channelOf(options, command, 'storage', enduro) },
  };
}

/** Each stream on the address Enduro's file gives it ([event] and [storage.event] may name different servers). */
function enduroBackend(options: ServeOptions, command: Command, enduro: EnduroConfig): Backend {
  const addressOf = (stream: 'ingest' | 'storage'): string => {
    const url = enduro[stream].redisAddress;
    if (url !== undefined) return url;
    const key = stream === 'ingest' ? 'event.redisAddress' : 'storage.event.redisAddress';
    throw new UsageError(`${options.enduroConfig} sets no ${key}: give --redis <url> (or TIDINGS_REDIS_URL)`);
  };
  return {
    kind: 'redis',
    ingest: { url: addressOf('ingest'), channel: channelOf(options, command, 'ingest', enduro) },
    storage: { url: addressOf('storage'), channel: channelOf(options, command, 'storage', enduro) },
  };
}

/** A channel given as an option (or its TIDINGS_* variable) wins over Enduro's file, which wins over the default. */
function channelOf(
  options: ServeOptions,
  command: Command,
  stream: 'ingest' | 'storage',
  enduro: EnduroConfig | undefined,
): string {
  const name = stream === 'ingest' ? 'ingestChannel' : 'storageChannel';
  const fromFile = command.getOptionValueSource(name) === 'default' ? enduro?.[stream].redisChannel : undefined;
  return fromFile ?? options[name];
}

/** How `serve` authenticates: explicitly not at all, or static tokens and/or Enduro's OIDC providers. */
type ServeAuth =
  | { readonly kind: 'off' }
  | {
      readonly kind: 'on';
      readonly tokens: TokenConfig[];
      readonly oidc: readonly OidcProviderConfig[];
      /** The Enduro file disables `[api.auth]`, which Tidings does not follow silently. */
      readonly fileDisablesAuth: boolean;
    };

/**
 * `off` for --no-auth only: an Enduro file whose `[api.auth]` is disabled
 * does not turn authentication off by itself (that must be asked for). Else
 * the configured tokens and the file's OIDC providers; with neither, one
 * token is generated.
 */
function authOf(options: ServeOptions, command: Command, enduro: EnduroConfig | undefined): ServeAuth {
  const source = command.getOptionValueSource('tokens') === 'env' ? 'TIDINGS_TOKENS' : '--tokens';
  if (!options.auth) {
    if (options.tokens !== undefined) throw new UsageError(`--no-auth and ${source} contradict each other: choose one`);
    return { kind: 'off' };
  }
  const oidc = enduro?.auth.enabled ? enduro.auth.oidc : [];
  const fileDisablesAuth = enduro !== undefined && !enduro.auth.enabled;
  if (options.tokens === undefined) return { kind: 'on', tokens: [], oidc, fileDisablesAuth };
  let tokens: TokenConfig[];
  try {
    tokens = parseTokenList(options.tokens);
  } catch (error) {
    throw new UsageError(`${source}: ${(error as Error).message}`);
  }
  if (tokens.length === 0) {
    throw new UsageError(`${source} lists no token; give at least one, or leave it unset to have one generated`);
  }
  return { kind: 'on', tokens, oidc, fileDisablesAuth };
}

async function serve(options: ServeOptions, backend: Backend, auth: ServeAuth): Promise<void> {
  const logger = stderrLogger(options.logLevel);
  const generated =
    auth.kind === 'on' && auth.tokens.length === 0 && auth.oidc.length === 0
      ? randomBytes(18).toString('base64url')
      : undefined;
  const access =
    auth.kind === 'off'
      ? { auth: false as const }
      : {
          tokens: generated === undefined ? auth.tokens : [{ token: generated, label: 'generated' }],
          authenticators: auth.oidc.length > 0 ? [new OidcAuthenticator(auth.oidc, { logger })] : [],
          // Enduro's dashboard signs in with its API's (first) client, so does ours.
          dashboardSignIn: auth.oidc[0],
        };
  if (auth.kind === 'off') {
    process.stderr.write(
      'WARNING: authentication is disabled (--no-auth): anyone who can reach this gateway receives every event of both streams. Put it behind something that authenticates, or give --tokens.\n',
    );
  }

  const metrics = options.metrics ? createPrometheusMetrics() : undefined;
  const meterProvider = metrics?.meterProvider;
  let ingest: IngestEventService;
  let storage: StorageEventService;
  if (backend.kind === 'demo') {
    ingest = newIngestEventServiceInMem({ logger, name: 'ingest', meterProvider });
    storage = newStorageEventServiceInMem({ logger, name: 'storage', meterProvider });
  } else if (backend.kind === 'nats') {
    const tracerProvider = trace.getTracerProvider();
    ingest = monitorServiceOnNats('ingest', logger, tracerProvider, backend.url, backend.ingest) as IngestEventService;
    storage = monitorServiceOnNats(
      'storage',
      logger,
      tracerProvider,
      backend.url,
      backend.storage,
    ) as StorageEventService;
  } else {
    const tracerProvider = trace.getTracerProvider();
    ingest = newIngestEventServiceRedis(logger, tracerProvider, {
      redisAddress: backend.ingest.url,
      redisChannel: backend.ingest.channel,
      meterProvider,
    });
    storage = newStorageEventServiceRedis(logger, tracerProvider, {
      redisAddress: backend.storage.url,
      redisChannel: backend.storage.channel,
      meterProvider,
    });
  }

  const gateway = createMonitorGateway({
    ingest,
    storage,
    ...access,
    logger,
    metrics,
    forwardTraceContext: options.traceContext,
    pingIntervalMs: options.pingInterval,
    maxStreamsPerToken: options.maxStreamsPerToken,
    clientBufferSize: options.clientBuffer,
    clientBacklogBytes: options.clientBacklogBytes,
    corsOrigins: options.corsOrigin
      ?.split(',')
      .map((o) => o.trim())
      .filter((o) => o.length > 0),
  });
  const stopped = shutdownSignal();
  let url: string;
  try {
    url = await gateway.listen({ port: options.port, host: options.host });
  } catch (error) {
    await Promise.allSettled([ingest.close(), storage.close()]);
    throw new UsageError(`cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
  }
  let demo: DemoProducer | undefined;
  if (backend.kind === 'demo')
    demo = startDemoProducer({ ingest, storage, stepIntervalMs: options.demoInterval, logger });

  const dashboard = generated === undefined ? `${url}/` : `${url}/#token=${generated}`;
  const lines = [
    'Tidings monitor gateway',
    `  dashboard  ${dashboard}`,
    `  streams    ${url}/ingest/monitor  ${url}/storage/monitor`,
    `  backend    ${backend.kind === 'demo' ? 'in-memory, demo producer running' : backend.kind === 'nats' ? `nats (${backend.ingest}, ${backend.storage})` : `redis (${backend.ingest.channel}, ${backend.storage.channel})`}`,
  ];
  if (metrics) lines.push(`  metrics    ${url}/metrics`);
  if (generated !== undefined)
    lines.push(`  token      ${generated}  (generated for this run; set --tokens or TIDINGS_TOKENS)`);
  if (auth.kind === 'off') lines.push('  auth       DISABLED (--no-auth): every client sees every event');
  else if (auth.oidc.length > 0) lines.push(`  auth       OIDC (${auth.oidc.map((p) => p.providerURL).join(', ')})`);
  if (auth.kind === 'on' && auth.fileDisablesAuth)
    lines.push(
      `  note       ${options.enduroConfig} disables [api.auth]; Tidings still asks for a token (--no-auth to run open)`,
    );
  lines.push('Press Ctrl-C to stop.');
  process.stdout.write(`${lines.join('\n')}\n`);

  const signal = await stopped;
  process.stdout.write(`${signal}: shutting down\n`);
  demo?.stop();
  await gateway.close();
  await Promise.all([ingest.close(), storage.close()]);
  await metrics?.shutdown();
  process.stdout.write('stopped\n');
}
