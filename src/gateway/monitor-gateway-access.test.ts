import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import {
  END,
  INGEST_ALL,
  INGEST_EVENTS,
  publishAll as publishEverything,
  STORAGE_ALL,
  STORAGE_EVENTS,
  typesOf,
} from '../../test/support/monitor-events.js';
import { openSse, type SseTestClient, until } from '../../test/support/sse-client.js';
import { parseAttributes } from '../auth/attributes.js';
import type { Authenticator, AuthResult, StreamScope } from '../auth/types.js';
import type { Logger } from '../core/logger.js';
import { newIngestEventServiceInMem, newStorageEventServiceInMem } from '../monitor/services.js';
import { createMonitorGateway, type MonitorGatewayOptions } from './monitor-gateway.js';

// Roles as an OIDC provider would send them, mapped the way Enduro's rolesMapping does.
const ROLE_ATTRIBUTES = parseAttributes(
  { realm: { enduro: ['enduro:operator', 'enduro:auditor', 'unrelated'] } },
  {
    enabled: true,
    claimPath: 'realm.enduro',
    claimPathSeparator: '.',
    claimValuePrefix: 'enduro:',
    useRoles: true,
    rolesMapping: {
      operator: ['ingest:sips:workflows:list', 'ingest:batches:read'],
      auditor: ['storage:aips:read', 'ingest:batches:read'],
      admin: ['*'],
    },
  },
);

interface User {
  readonly token: string;
  readonly attributes?: readonly string[];
  readonly ingest: readonly string[];
  readonly storage: readonly string[];
}

const USERS: Record<string, User> = {
  everything: { token: 'tok-star', attributes: ['*'], ingest: INGEST_ALL, storage: STORAGE_ALL },
  'no attribute list': { token: 'tok-open', ingest: INGEST_ALL, storage: STORAGE_ALL },
  'ingest:*': { token: 'tok-ingest', attributes: ['ingest:*'], ingest: INGEST_ALL, storage: ['storage_ping_event'] },
  'ingest:sips:list': {
    token: 'tok-sips-list',
    attributes: ['ingest:sips:list'],
    ingest: ['ingest_ping_event', 'sip_created_event', 'sip_updated_event', 'sip_status_updated_event'],
    storage: ['storage_ping_event'],
  },
  'storage:aips:read': {
    token: 'tok-aips-read',
    attributes: ['storage:aips:read'],
    ingest: ['ingest_ping_event'],
    storage: ['storage_ping_event', 'aip_updated_event', 'aip_status_updated_event', 'aip_location_updated_event'],
  },
  'storage:locations:list': {
    token: 'tok-locations',
    attributes: ['storage:locations:list'],
    ingest: ['ingest_ping_event'],
    storage: ['storage_ping_event', 'location_created_event', 'location_updated_event'],
  },
  'roles operator+auditor': {
    token: 'tok-roles',
    attributes: ROLE_ATTRIBUTES,
    ingest: [
      'ingest_ping_event',
      'sip_workflow_created_event',
      'sip_workflow_updated_event',
      'sip_task_created_event',
      'sip_task_updated_event',
      'batch_updated_event',
    ],
    storage: ['storage_ping_event', 'aip_updated_event', 'aip_status_updated_event', 'aip_location_updated_event'],
  },
  none: { token: 'tok-none', attributes: [], ingest: ['ingest_ping_event'], storage: ['storage_ping_event'] },
};

const sawEnd = (client: SseTestClient) => () =>
  client.waitFor((messages) => messages.some((m) => m.data.includes(END)));

async function start(options: Omit<MonitorGatewayOptions, 'ingest' | 'storage'>) {
  const ingest = newIngestEventServiceInMem();
  const storage = newStorageEventServiceInMem();
  const gateway = createMonitorGateway({ ingest, storage, pingIntervalMs: 600_000, ...options });
  const url = await gateway.listen();
  after(async () => {
    await gateway.close();
    await Promise.all([ingest.close(), storage.close()]);
  });
  const publishAll = (): void => publishEverything(ingest, storage);
  return { ingest, storage, url, publishAll };
}

describe('monitor gateway: per-event access', () => {
  it('publishes one event of every type of both streams', () => {
    assert.deepEqual(
      INGEST_EVENTS.map((e) => e.type),
      [...INGEST_ALL].sort(),
    );
    assert.deepEqual(
      STORAGE_EVENTS.map((e) => e.type),
      [...STORAGE_ALL].sort(),
    );
    assert.deepEqual(ROLE_ATTRIBUTES, ['ingest:sips:workflows:list', 'ingest:batches:read', 'storage:aips:read']);
  });

  it('sends each user exactly the events Enduro would, pings always', async () => {
    const tokens = Object.entries(USERS).map(([label, user]) => ({
      token: user.token,
      label,
      ...(user.attributes === undefined ? {} : { attributes: user.attributes }),
    }));
    const { ingest, storage, url, publishAll } = await start({ tokens });
    const clients = new Map<string, { ingest: SseTestClient; storage: SseTestClient }>();
    for (const [label, user] of Object.entries(USERS)) {
      const headers = { authorization: `Bearer ${user.token}` };
      clients.set(label, {
        ingest: await openSse(`${url}/ingest/monitor`, headers),
        storage: await openSse(`${url}/storage/monitor`, headers),
      });
    }
    const users = Object.keys(USERS).length;
    await until(() => ingest.liveSubscriptions === users && storage.liveSubscriptions === users);
    publishAll();
    const counts: Record<string, { ingest: number; storage: number }> = {};
    for (const [label, user] of Object.entries(USERS)) {
      const client = clients.get(label)!;
      await Promise.all([sawEnd(client.ingest)(), sawEnd(client.storage)()]);
      assert.deepEqual(typesOf(client.ingest).sort(), [...user.ingest].sort(), `${label}: ingest`);
      assert.deepEqual(typesOf(client.storage).sort(), [...user.storage].sort(), `${label}: storage`);
      counts[label] = { ingest: typesOf(client.ingest).length, storage: typesOf(client.storage).length };
      client.ingest.close();
      client.storage.close();
    }
    // The per-user counts for the record (events received of the 21 published, pings included).
    console.log(`per-user event counts: ${JSON.stringify(counts)}`);
  });

  it('passes every event with auth explicitly disabled, no token asked', async () => {
    const { ingest, storage, url, publishAll } = await start({ auth: false });
    const ingestClient = await openSse(`${url}/ingest/monitor`);
    const storageClient = await openSse(`${url}/storage/monitor`);
    assert.equal(ingestClient.status, 200);
    await until(() => ingest.liveSubscriptions === 1 && storage.liveSubscriptions === 1);
    publishAll();
    await Promise.all([sawEnd(ingestClient)(), sawEnd(storageClient)()]);
    assert.deepEqual(typesOf(ingestClient).sort(), [...INGEST_ALL].sort());
    assert.deepEqual(typesOf(storageClient).sort(), [...STORAGE_ALL].sort());
    ingestClient.close();
    storageClient.close();
  });

  it('with auth disabled, limits streams per client address rather than for everyone at once', async () => {
    const { url } = await start({ auth: false, maxStreamsPerToken: 1 });
    /** The status of a stream request from `localAddress` (all of 127/8 is loopback on Linux). */
    const statusFrom = (localAddress: string): Promise<{ status: number; close: () => void }> =>
      new Promise((resolve, reject) => {
        const req = request(`${url}/ingest/monitor`, { localAddress }, (res) =>
          resolve({ status: res.statusCode ?? 0, close: () => req.destroy() }),
        );
        req.once('error', reject);
        req.end();
      });
    const first = await statusFrom('127.0.0.1');
    const again = await statusFrom('127.0.0.1');
    const elsewhere = await statusFrom('127.0.0.2');
    assert.deepEqual([first.status, again.status, elsewhere.status], [200, 429, 200]);
    for (const response of [first, again, elsewhere]) response.close();
  });

  it('answers 503 when a token source cannot answer, and still accepts the others', async () => {
    const lines: string[] = [];
    const unreachable: Authenticator = {
      authenticate: async () => {
        throw new Error('provider discovery: connect ECONNREFUSED');
      },
    };
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
    };
    const { url } = await start({ tokens: [{ token: 'static-ok' }], authenticators: [unreachable], logger });
    const refused = await openSse(`${url}/ingest/monitor`, { authorization: 'Bearer an-oidc-token' });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '5');
    assert.match(await refused.body, /authentication unavailable/);
    assert.ok(
      lines.some((line) => line.includes('ECONNREFUSED') && !line.includes('an-oidc-token')),
      lines.join('\n'),
    );
    const accepted = await openSse(`${url}/ingest/monitor`, { authorization: 'Bearer static-ok' });
    assert.equal(accepted.status, 200);
    accepted.close();
  });

  it('never runs open by omission: no token source and no auth: false is an error, as is both', () => {
    const ingest = newIngestEventServiceInMem();
    assert.throws(() => createMonitorGateway({ ingest }), /auth: false/);
    assert.throws(() => createMonitorGateway({ ingest, tokens: [] }), TypeError);
    assert.throws(() => createMonitorGateway({ ingest, auth: false, tokens: [{ token: 't' }] }), TypeError);
  });
});

describe('monitor gateway: token lifetime', () => {
  /** A token source whose principals expire `lifetimeMs` after authenticating, like an OIDC access token. */
  const expiring = (lifetimeMs: number): Authenticator => ({
    async authenticate(token: string | undefined, scope: StreamScope): Promise<AuthResult> {
      if (token !== 'short-lived') return { ok: false, status: 401, message: 'invalid bearer token' };
      return {
        ok: true,
        principal: { label: 'oidc:alice', scopes: new Set([scope]), expiresAt: Date.now() + lifetimeMs },
      };
    },
  });
  const capture = (lines: string[]): Logger => {
    const log = (fields: Record<string, unknown>, message: string): void => {
      lines.push(`${message} ${JSON.stringify(fields)}`);
    };
    return { debug: log, info: log, warn: log, error: log };
  };

  it('ends a stream when its token expires, cleanly, and logs why', async () => {
    const lines: string[] = [];
    const { ingest, url } = await start({ authenticators: [expiring(300)], logger: capture(lines) });
    const client = await openSse(`${url}/ingest/monitor`, { authorization: 'Bearer short-lived' });
    assert.equal(client.status, 200);
    let ended = false;
    void client.ended.then(() => {
      ended = true;
    });
    await until(() => ended, 5000, 'the stream to end when its token expires');
    assert.equal(client.messages[0]?.data, '{"value":{"type":"ingest_ping_event","value":{"message":"Hello"}}}');
    await until(() => ingest.liveSubscriptions === 0);
    assert.ok(
      lines.some((line) => line.startsWith('monitor stream ended: token expired') && line.includes('oidc:alice')),
      lines.join('\n'),
    );
  });

  it('refuses a token that has already expired with 401', async () => {
    const { url } = await start({ authenticators: [expiring(-1)] });
    const client = await openSse(`${url}/storage/monitor`, { authorization: 'Bearer short-lived' });
    assert.equal(client.status, 401);
    assert.match(await client.body, /token expired/);
  });

  it('keeps a stream whose token has not expired', async () => {
    const { ingest, url } = await start({ authenticators: [expiring(3_600_000)] });
    const client = await openSse(`${url}/ingest/monitor`, { authorization: 'Bearer short-lived' });
    await until(() => ingest.liveSubscriptions === 1);
    ingest.publish({ type: 'ingest_ping_event', value: { message: END } });
    await sawEnd(client)();
    assert.equal(ingest.liveSubscriptions, 1, 'still streaming');
    client.close();
  });
});
