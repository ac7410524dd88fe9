/**
 * Enduro's configuration file (`enduro.toml`), read the way Enduro reads it
 * (viper): keys case-insensitive, `ENDURO_` environment overrides, unknown
 * sections ignored. Only what Tidings needs is read: the Redis event sections
 * and `[api.auth]`. Everything else in the file is Enduro's business.
 */
import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import type { AbacConfig, OidcProviderConfig } from '../auth/types.js';
import { parseRedisAddress } from '../backends/redis/redis-address.js';
import { ConfigError } from '../errors.js';

/** One Redis event channel, as in Enduro's `[event]` and `[storage.event]`. */
export interface EnduroEventConfig {
  /** `redisAddress`; `undefined` when the file does not set it. */
  readonly redisAddress?: string;
  /** `redisChannel`; `undefined` when the file does not set it. */
  readonly redisChannel?: string;
}

/** What Tidings takes from Enduro's configuration. */
export interface EnduroConfig {
  /** `[event]`: the ingest monitor events. */
  readonly ingest: EnduroEventConfig;
  /** `[storage.event]`: the storage monitor events. */
  readonly storage: EnduroEventConfig;
  /** `[api.auth]`. */
  readonly auth: {
    /** `api.auth.enabled`; `false` when absent, as in Enduro (then every event passes). */
    readonly enabled: boolean;
    /** One entry per `[[api.auth.oidc]]` table, in file order (verification tries them in that order). */
    readonly oidc: readonly OidcProviderConfig[];
  };
}

/** Where the configuration comes from: a file, or its text (`origin` names it in errors). */
export type EnduroConfigSource = { readonly path: string } | { readonly text: string; readonly origin?: string };

type Table = Record<string, unknown>;

/**
 * Reads Enduro's configuration.
 *
 * Environment overrides work as in Enduro (viper's `AutomaticEnv` with the
 * `ENDURO_` prefix): a key's variable is `ENDURO_` and the key in upper case
 * with dots as underscores (`event.redisAddress` → `ENDURO_EVENT_REDISADDRESS`);
 * an empty variable counts as unset; and, as in viper, a variable overrides
 * only a key the file sets (Enduro defines no defaults for these keys). The
 * entries of an array of tables (`[[api.auth.oidc]]`) have no variables;
 * `ENDURO_API_AUTH_OIDC` would replace the whole list with a string, which
 * Enduro refuses to start with, and so does this.
 *
 * @param source the file, or its text.
 * @param env the environment to take overrides from. @default process.env
 * @throws {ConfigError} the file cannot be read or is not TOML, or a value is
 * invalid: the message names the key (and the variable, when it came from one).
 * @example
 * const config = loadEnduroConfig({ path: '/etc/enduro.toml' });
 * config.ingest.redisAddress; // "redis://redis.enduro-sdps:6379", or ENDURO_EVENT_REDISADDRESS
 */
export function loadEnduroConfig(
  source: EnduroConfigSource,
  env: Readonly<Record<string, string | undefined>> = process.env,
): EnduroConfig {
  const origin = 'path' in source ? source.path : (source.origin ?? 'Enduro configuration');
  let text: string;
  if ('path' in source) {
    try {
      text = readFileSync(source.path, 'utf8');
    } catch (error) {
      throw new ConfigError(`${origin}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? error})`, {
        cause: error,
      });
    }
  } else {
    text = source.text;
  }
  let root: Table;
  try {
    root = parse(text);
  } catch (error) {
    // Not the parser's message as cause: it quotes the offending line, which may hold a secret of Enduro's.
    const detail = error instanceof TomlError ? `line ${error.line}, column ${error.column}` : 'unreadable';
    throw new ConfigError(`${origin}: not valid TOML (${detail})`);
  }
  return new Reader(origin, env).config(root);
}

class Reader {
  constructor(
    private readonly origin: string,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  config(root: Table): EnduroConfig {
    const auth = this.table(root, 'api.auth');
    const enabled = this.boolean(auth, 'api.auth.enabled', true) ?? false;
    const oidc = this.oidcList(auth, enabled);
    return {
      ingest: this.eventConfig(root, 'event'),
      storage: this.eventConfig(root, 'storage.event'),
      auth: { enabled, oidc },
    };
  }

  private eventConfig(root: Table, section: string): EnduroEventConfig {
    const table = this.table(root, section);
    // An empty address is Enduro's "not configured", not an address to reject.
    const redisAddress = this.string(table, `${section}.redisAddress`, true) || undefined;
    if (redisAddress !== undefined) {
      try {
        parseRedisAddress(redisAddress);
      } catch (error) {
        // parseRedisAddress never puts the password in its message.
        this.fail(`${section}.redisAddress`, (error as Error).message.replace(/^redisAddress /, ''), true);
      }
    }
    const redisChannel = this.string(table, `${section}.redisChannel`, true);
    if (redisChannel === '') this.fail(`${section}.redisChannel`, 'must not be empty', true);
    return { redisAddress, redisChannel };
  }

  private oidcList(auth: Table, enabled: boolean): OidcProviderConfig[] {
    const key = 'api.auth.oidc';
    const entry = lookup(auth, 'oidc');
    const variable = envName(key);
    if (entry !== undefined && nonEmpty(this.env[variable])) {
      this.fail(key, `cannot be set from the environment (${variable}): it is an array of tables; edit the file`);
    }
    if (entry === undefined) {
      if (enabled) this.fail(key, 'needs at least one [[api.auth.oidc]] table when api.auth.enabled is true');
      return [];
    }
    if (!Array.isArray(entry) || !entry.every(isTable)) {
      this.fail(key, 'must be an array of tables ([[api.auth.oidc]])');
    }
    if (enabled && entry.length === 0) this.fail(key, 'needs at least one table when api.auth.enabled is true');
    return entry.map((table, index) => this.oidc(table, `${key}[${index}]`, enabled));
  }

  private oidc(table: Table, at: string, enabled: boolean): OidcProviderConfig {
    const providerURL = this.string(table, `${at}.providerURL`) ?? '';
    const clientID = this.string(table, `${at}.clientID`) ?? '';
    if (enabled && providerURL === '') this.fail(`${at}.providerURL`, 'is required when api.auth.enabled is true');
    if (enabled && clientID === '') this.fail(`${at}.clientID`, 'is required when api.auth.enabled is true');
    if (providerURL !== '' && !isHttpUrl(providerURL)) {
      this.fail(`${at}.providerURL`, `must be an http:// or https:// URL, got ${JSON.stringify(providerURL)}`);
    }
    const skipEmailVerifiedCheck = this.boolean(table, `${at}.skipEmailVerifiedCheck`) ?? false;
    const abac = this.abac(this.table(table, `${at}.abac`, 'abac'), `${at}.abac`, enabled);
    return { providerURL, clientID, skipEmailVerifiedCheck, ...(abac === undefined ? {} : { abac }) };
  }

  private abac(table: Table, at: string, enabled: boolean): AbacConfig | undefined {
    if (Object.keys(table).length === 0) return undefined;
    const abacEnabled = this.boolean(table, `${at}.enabled`) ?? false;
    const claimPath = this.string(table, `${at}.claimPath`) ?? '';
    const useRoles = this.boolean(table, `${at}.useRoles`) ?? false;
    const rolesMapping = this.rolesMapping(table, `${at}.rolesMapping`);
    // Enduro checks these only when auth is enabled.
    if (enabled && abacEnabled && claimPath === '') this.fail(`${at}.claimPath`, 'is required when abac is enabled');
    if (enabled && useRoles && (rolesMapping === undefined || Object.keys(rolesMapping).length === 0)) {
      this.fail(`${at}.rolesMapping`, 'needs at least one role when useRoles is true');
    }
    return {
      enabled: abacEnabled,
      claimPath,
      claimPathSeparator: this.string(table, `${at}.claimPathSeparator`) ?? '',
      claimValuePrefix: this.string(table, `${at}.claimValuePrefix`) ?? '',
      useRoles,
      ...(rolesMapping === undefined ? {} : { rolesMapping }),
    };
  }

  /** A JSON string as in Enduro's sample (`""`: none), or a TOML table of the same shape. */
  private rolesMapping(table: Table, key: string): Record<string, readonly string[]> | undefined {
    let value = lookup(table, leaf(key));
    if (value === undefined || value === '') return undefined;
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value) as unknown;
      } catch (error) {
        this.fail(key, `is not valid JSON (${(error as Error).message})`);
      }
    }
    if (!isTable(value)) this.fail(key, 'must map role names to lists of attributes');
    const mapping: Record<string, readonly string[]> = {};
    for (const [role, attributes] of Object.entries(value)) {
      if (!Array.isArray(attributes) || !attributes.every((a) => typeof a === 'string')) {
        this.fail(key, `role ${JSON.stringify(role)} must map to a list of strings`);
      }
      mapping[role] = attributes;
    }
    return mapping;
  }

  /** A (possibly dotted) table; absent: an empty one. */
  private table(parent: Table, key: string, path: string = key): Table {
    let current: Table = parent;
    for (const part of path.split('.')) {
      const next = lookup(current, part);
      if (next === undefined) return {};
      if (!isTable(next)) this.fail(key, 'must be a table');
      current = next;
    }
    return current;
  }

  private string(table: Table, key: string, overridable = false): string | undefined {
    const value = this.value(table, key, overridable);
    if (value === undefined || typeof value === 'string') return value;
    return this.fail(key, `must be a string, got ${describe(value)}`);
  }

  /** As Enduro (mapstructure, weakly typed): a boolean, or a string Go's strconv.ParseBool accepts. */
  private boolean(table: Table, key: string, overridable = false): boolean | undefined {
    const value = this.value(table, key, overridable);
    if (value === undefined || typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      if (/^(1|t|true|TRUE|True)$/.test(value)) return true;
      if (/^(0|f|false|FALSE|False)$/.test(value)) return false;
    }
    return this.fail(key, `must be true or false, got ${describe(value)}`, overridable);
  }

  /** The file's value, or its environment variable's when the file sets the key (viper's rule). */
  private value(table: Table, key: string, overridable: boolean): unknown {
    const value = lookup(table, leaf(key));
    if (!overridable || value === undefined) return value;
    const override = this.env[envName(key)];
    return nonEmpty(override) ? override : value;
  }

  private fail(key: string, problem: string, overridable = false): never {
    const variable = envName(key);
    const from = overridable && nonEmpty(this.env[variable]) ? ` (from ${variable})` : '';
    throw new ConfigError(`${this.origin}: ${key}${from} ${problem}`);
  }
}

/** A key of a table, matched case-insensitively as viper does. */
function lookup(table: Table, key: string): unknown {
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(table)) if (name.toLowerCase() === wanted) return value;
  return undefined;
}

function leaf(key: string): string {
  return key.slice(key.lastIndexOf('.') + 1);
}

/** viper: prefix, key upper-cased, dots as underscores. */
function envName(key: string): string {
  return `ENDURO_${key.toUpperCase().replaceAll('.', '_')}`;
}

/** viper ignores empty variables unless told otherwise (AllowEmptyEnv), and Enduro does not tell it. */
function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isTable(value)) return 'a table';
  return JSON.stringify(value) ?? String(value);
}
