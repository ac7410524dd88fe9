import type { TraceCarrier } from '../core/codec.js';
import { storageCatalogue } from './catalogue.js';
import { wireText } from './codec.js';
import { viewableAddress, viewableUrl } from './locator.js';
import type { Location, LocationConfig, StorageMonitorEvent } from './schemas.js';

/**
 * How a viewer may see one field of a location config: `text` and `flag` as
 * they are (a string, a boolean), `url` as `scheme://host[:port]/path` only,
 * `address` as `host[:port]` only. Userinfo, query and fragment never show.
 */
export type LocationFieldView = 'text' | 'flag' | 'url' | 'address';

/**
 * The allow-list of {@link redactStorageEvent}: for each location config
 * kind, the fields a viewer may see and how. Whatever is not listed is
 * dropped: credentials (`api_key`, `key`, `secret`, `token`, `password`),
 * account names (`username`, S3's `profile`), fields a newer producer adds,
 * and the config of a kind not listed. A viewer learns where a location's data
 * lives, never how to log in to it.
 */
export const LOCATION_CONFIG_VIEW = Object.freeze({
  amss: Object.freeze({ url: 'url' }),
  s3: Object.freeze({ bucket: 'text', region: 'text', endpoint: 'url', path_style: 'flag' }),
  sftp: Object.freeze({ address: 'address', directory: 'text' }),
  url: Object.freeze({ url: 'url' }),
} as const satisfies Record<LocationConfig['type'], Readonly<Record<string, LocationFieldView>>>);

type ConfigView = typeof LOCATION_CONFIG_VIEW;

/**
 * A location config as a viewer sees it: the kind, and the fields
 * {@link LOCATION_CONFIG_VIEW} allows for it. Each field is optional: a URL
 * or address whose host cannot be told apart from a credential is left out.
 */
export type RedactedLocationConfig = {
  [K in keyof ConfigView]: {
    type: K;
    value: { [F in keyof ConfigView[K]]?: ConfigView[K][F] extends 'flag' ? boolean : string };
  };
}[keyof ConfigView];

/** A location whose config shows only what {@link LOCATION_CONFIG_VIEW} allows. */
export type RedactedLocation = Omit<Location, 'config'> & { config?: RedactedLocationConfig };

type RedactedLocationEvent<K extends 'location_created_event' | 'location_updated_event'> = {
  type: K;
  value: { uuid: string; item: RedactedLocation };
};

/**
 * A storage event fit for browsers: location events carry a
 * {@link RedactedLocation}; every other member is unchanged in shape.
 */
export type RedactedStorageMonitorEvent =
  | Exclude<StorageMonitorEvent, { type: 'location_created_event' | 'location_updated_event' }>
  | RedactedLocationEvent<'location_created_event'>
  | RedactedLocationEvent<'location_updated_event'>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function viewField(view: LocationFieldView, value: unknown): string | boolean | undefined {
  switch (view) {
    case 'flag':
      return typeof value === 'boolean' ? value : undefined;
    case 'text':
      return typeof value === 'string' ? value : undefined;
    case 'url':
      return typeof value === 'string' ? viewableUrl(value) : undefined;
    case 'address':
      return typeof value === 'string' ? viewableAddress(value) : undefined;
  }
}

/** The viewer's copy of a location config, or `undefined` for a kind the allow-list does not know. */
function viewOfConfig(config: unknown): RedactedLocationConfig | undefined {
  if (!isObject(config) || typeof config.type !== 'string' || !Object.hasOwn(LOCATION_CONFIG_VIEW, config.type)) {
    return undefined;
  }
  const fields: Readonly<Record<string, LocationFieldView>> = LOCATION_CONFIG_VIEW[config.type as keyof ConfigView];
  const source = isObject(config.value) ? config.value : {};
  const value: Record<string, string | boolean> = {};
  for (const [field, view] of Object.entries(fields)) {
    const shown = viewField(view, Object.hasOwn(source, field) ? source[field] : undefined);
    if (shown !== undefined) value[field] = shown;
  }
  return { type: config.type, value } as RedactedLocationConfig;
}

/**
 * Returns a copy of `event` safe to show outside the trusted back end. A
 * location's config keeps only what {@link LOCATION_CONFIG_VIEW} allows for
 * its kind (an allow-list: credentials, account names, the userinfo, query
 * and fragment of URLs, and anything unknown are dropped), and every other
 * field the catalogue does not know is dropped too. The input is never
 * mutated. Locations appear only in `location_created_event` and
 * `location_updated_event`; other events come back as canonical copies.
 *
 * A redacted location no longer satisfies the contract (which requires, for
 * example, an SFTP `password`): redacted events are for display, not for
 * republishing (hence the distinct type).
 *
 * @example
 * ```ts
 * for await (const event of storageSub) browser.send(encodeRedactedStorageEvent(event));
 * ```
 */
export function redactStorageEvent(event: StorageMonitorEvent): RedactedStorageMonitorEvent {
  const value = storageCatalogue.canonicalPayload(event.type, event.value);
  if (event.type === 'location_created_event' || event.type === 'location_updated_event') {
    // The canonical copy shares nothing with the input, so editing it is safe.
    const item = isObject(value) ? value.item : undefined;
    if (isObject(item) && item.config !== undefined) {
      const config = viewOfConfig(item.config);
      if (config === undefined) delete item.config;
      else item.config = config;
    }
  }
  return { type: event.type, value } as RedactedStorageMonitorEvent;
}

/**
 * The wire JSON of {@link redactStorageEvent}`(event)`, as `storageCodec.encode`
 * would write it (optionally with trace fields): what a browser-facing stream sends.
 */
export function encodeRedactedStorageEvent(event: StorageMonitorEvent, trace?: TraceCarrier): string {
  const redacted = redactStorageEvent(event);
  return wireText(redacted.type, redacted.value, trace);
}
