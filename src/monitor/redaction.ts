import type { TraceCarrier } from '../core/codec.js';
import { storageCatalogue } from './catalogue.js';
import { wireText } from './codec.js';
import type { Location, LocationConfig, StorageEventType, StorageMonitorEvent } from './schemas.js';

/** Fields of a location's `config.value` that hold credentials, removed by {@link redactStorageEvent}. */
export const LOCATION_CREDENTIAL_FIELDS = Object.freeze(['api_key', 'key', 'secret', 'token', 'password'] as const);

/** A credential field of a location config. */
export type LocationCredentialField = (typeof LOCATION_CREDENTIAL_FIELDS)[number];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A location whose config no longer carries credentials. */
export type RedactedLocation = Omit<Location, 'config'> & {
  config?: { type: LocationConfig['type']; value: DistributiveOmit<LocationConfig['value'], LocationCredentialField> };
};

type RedactedLocationEvent<K extends StorageEventType> = { type: K; value: { uuid: string; item: RedactedLocation } };

/**
 * A storage event fit for browsers: location events carry a
 * {@link RedactedLocation}; every other member is unchanged in shape.
 */
export type RedactedStorageMonitorEvent =
  | Exclude<StorageMonitorEvent, { type: 'location_created_event' | 'location_updated_event' }>
  | RedactedLocationEvent<'location_created_event'>
  | RedactedLocationEvent<'location_updated_event'>;

const credentialFields: ReadonlySet<string> = new Set(LOCATION_CREDENTIAL_FIELDS);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutCredentials(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(config)) if (!credentialFields.has(key)) out[key] = config[key];
  return out;
}

/**
 * Returns a copy of `event` safe to show outside the trusted back end: the
 * credentials of a location (`api_key`, `key`, `secret`, `token`, `password`
 * in `config.value`) are removed, and so is any field the catalogue does not
 * know (a newer producer's secret cannot slip through). The input is never
 * mutated. Locations appear only in `location_created_event` and
 * `location_updated_event`; other events come back as canonical copies.
 *
 * A redacted SFTP or AMSS location no longer satisfies the contract, which
 * requires `password` / `api_key`: redacted events are for display, not for
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
    const config = isObject(item) ? item.config : undefined;
    if (isObject(config) && isObject(config.value)) config.value = withoutCredentials(config.value);
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
