/**
 * Type-level tests, checked by `npm run typecheck` (never executed): each
 * `@ts-expect-error` fails the build if the line below it compiles.
 */
import { type RedactedLocationConfig, type RedactedStorageMonitorEvent, redactStorageEvent } from './redaction.js';
import type { StorageMonitorEvent } from './schemas.js';

declare const event: StorageMonitorEvent;
const redacted: RedactedStorageMonitorEvent = redactStorageEvent(event);

export function shown(config: RedactedLocationConfig): string | boolean | undefined {
  switch (config.type) {
    case 's3':
      // @ts-expect-error a viewer never sees an S3 secret
      config.value.secret;
      // @ts-expect-error nor the profile naming the credentials
      config.value.profile;
      return config.value.path_style ?? config.value.endpoint;
    case 'sftp':
      // @ts-expect-error nor an SFTP password
      config.value.password;
      // @ts-expect-error nor the SFTP username
      config.value.username;
      return config.value.address;
    case 'amss':
      // @ts-expect-error nor an AMSS api key
      config.value.api_key;
      return config.value.url;
    case 'url':
      return config.value.url;
  }
}

if (redacted.type === 'location_updated_event' && redacted.value.item.config) shown(redacted.value.item.config);
