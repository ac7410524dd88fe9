/**
 * The monitor gateway over real HTTP with OIDC: tokens of a real OpenID
 * provider (`oidc-provider` on loopback) verified by `OidcAuthenticator`
 * with Enduro's ABAC parsing. Forged tokens get 401 and no event; each
 * user receives exactly the events Enduro's table allows; a stream ends
 * when its token expires.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { base64url, decodeJwt } from 'jose';
import {
  END,
  INGEST_ALL,
  INGEST_EVENTS,
  publishAll,
  STORAGE_ALL,
  STORAGE_EVENTS,
  typesOf,
} from '../../test/support/monitor-events.js';
import {
  DASHBOARD_CLIENT_ID,
  hs256WithPublicKey,
  startOidcProvider,
  type TestOidcProvider,
  withPayload,
} from '../../test/support/oidc-provider.js';
import { openSse, type SseTestClient, until } from '../../test/support/sse-client.js';
import { OidcAuthenticator } from '../auth/oidc-authenticator.js';
import {
  type IngestEventService,
  newIngestEventServiceInMem,
  newStorageEventServiceInMem,
  type StorageEventService,
} from '../monitor/services.js';
import type { Gateway } from './gateway.js';
import { createMonitorGateway } from './monitor-gateway.js';

const SIPS_LIST_INGEST = ['ingest_ping_event', 'sip_created_event', 'sip_updated_event', 'sip_status_updated_event'];

const EXPECTED: Record<string, { readonly ingest: readonly string[]; readonly storage: readonly string[] }> = {
  admin: { ingest: INGEST_ALL, storage: STORAGE_ALL },
  ingester: { ingest: INGEST_ALL, storage: ['storage_ping_event'] },
  'sips-lister': { ingest: SIPS_LIST_INGEST, storage: ['storage_ping_event'] },
  // roles enduro-readonly → ingest:sips:list + storage:aips:list; other-app is not mapped.
  'role-user': {
    ingest: SIPS_LIST_INGEST,
    storage: [
      'storage_ping_event',
      'aip_created_event',
      'aip_updated_event',
      'aip_status_updated_event',
      'aip_location_updated_event',
    ],
  },
  nobody: { ingest: ['ingest_ping_event'], storage: ['storage_ping_event'] },
};

const sawEnd = (client: SseTestClient): Promise<void> =>
  client.waitFor((messages) => messages.some((m) => m.data.includes(END)), 60_000);

describe('monitor gateway with OIDC tokens of a real provider', () => {
  let provider: TestOidcProvider;
  let stranger: TestOidcProvider;
  let ingest: IngestEventService;
  let storage: StorageEventService;
  let gateway: Gateway;
  let url: string;

  before(async () => {
    provider = await startOidcProvider();
    stranger = await startOidcProvider();
    ingest = newIngestEventServiceInMem();
    storage = newStorageEventServiceInMem();
    const authenticator = new OidcAuthenticator(
      [
        { providerURL: provider.issuer, clientID: DASHBOARD_CLIENT_ID, abac: { enabled: true, claimPath: 'enduro' } },
        // Tried when the first has no `enduro` claim to read: role-user's token carries roles only.
        {
          providerURL: provider.issuer,
          clientID: DASHBOARD_CLIENT_ID,
          abac: {
            enabled: true,
            claimPath: 'roles',
            useRoles: true,
            rolesMapping: { 'enduro-readonly': ['ingest:sips:list', 'storage:aips:list'] },
          },
        },
      ],
      // A new kid refetches the JWKS at once, so the rotation attack does not wait for a cooldown.
      { jwksCooldownMs: 0 },
    );
    gateway = createMonitorGateway({ ingest, storage, authenticators: [authenticator], pingIntervalMs: 600_000 });
    url = await gateway.listen();
  });
  after(async () => {
    await gateway?.close();
    await Promise.all([ingest?.close(), storage?.close()]);
    await provider?.stop();
    await stranger?.stop();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('the attack matrix: each forged token gets 401 on both streams and no data', async (t) => {
    const rows: { attack: string; ingest: number; storage: number; streamed: boolean; body: string }[] = [];
    /** Opens both streams with `token`; expects a stream (200) or a refusal (401) with nothing streamed. */
    const attempt = async (attack: string, token: string, expected: 200 | 401): Promise<void> => {
      const ingestClient = await openSse(`${url}/ingest/monitor`, bearer(token));
      const storageClient = await openSse(`${url}/storage/monitor`, bearer(token));
      if (expected === 200) {
        await Promise.all([
          ingestClient.waitFor((m) => m.length > 0, 60_000),
          storageClient.waitFor((m) => m.length > 0, 60_000),
        ]);
        ingestClient.close();
        storageClient.close();
        await until(() => ingest.liveSubscriptions === 0 && storage.liveSubscriptions === 0, 60_000, 'streams closed');
      }
      const statuses = [ingestClient.status, storageClient.status];
      if (statuses.some((status) => status !== 401)) {
        // A stream opened where a refusal was expected: close it, so the failure below does not hang.
        ingestClient.close();
        storageClient.close();
      }
      const bodies = await Promise.all([ingestClient.body, storageClient.body]);
      const streamed = [ingestClient, storageClient].some((c) => /^data:/m.test(c.raw()) || c.messages.length > 0);
      rows.push({
        attack,
        ingest: ingestClient.status,
        storage: storageClient.status,
        streamed,
        body: expected === 401 ? (bodies[0]?.replace(/\s+/g, ' ').trim() ?? '') : '',
      });
      assert.equal(ingestClient.status, expected, `${attack}: ingest status`);
      assert.equal(storageClient.status, expected, `${attack}: storage status`);
      if (expected === 401) {
        assert.equal(streamed, false, `${attack}: nothing streamed`);
        await until(() => ingest.liveSubscriptions + storage.liveSubscriptions === 0, 60_000, 'no subscription');
      }
    };

    const genuine = await provider.mint('admin');
    await attempt('genuine admin token (control)', genuine, 200);
    const claims = decodeJwt(genuine);

    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify(claims))}.`;
    await attempt('alg: none', unsigned, 401);

    const hs256 = await hs256WithPublicKey(provider, claims);
    await attempt('HS256 keyed with the RSA public key', hs256, 401);

    await attempt('wrong aud', await provider.mint('admin', { audience: 'some-other-client' }), 401);
    await attempt('wrong iss', await provider.mint('admin', { claims: { iss: `${provider.issuer}/elsewhere` } }), 401);
    await attempt('expired (120 s ago)', await provider.mint('admin', { expiresInSec: -120 }), 401);
    await attempt('not yet valid (nbf in 120 s)', await provider.mint('admin', { notBeforeInSec: 120 }), 401);
    const nobody = decodeJwt(await provider.mint('nobody'));
    await attempt(
      'tampered payload (nobody claims *)',
      withPayload(await provider.mint('nobody'), { ...nobody, enduro: ['*'] }),
      401,
    );
    await attempt('unverified email', await provider.mint('unverified'), 401);
    await attempt('token of a provider not configured', await stranger.mint('admin'), 401);
    await attempt(
      'other provider key, claiming our iss',
      await stranger.mint('admin', { claims: { iss: provider.issuer } }),
      401,
    );

    // Rotation: the old tokens stream until the keys change, then their kid is no longer served. role-user's
    // is read by the second provider/client pair, which must not keep trusting the removed key either.
    const beforeRotation = await provider.mint('admin');
    const roleBeforeRotation = await provider.mint('role-user');
    await attempt('token of the current key (control)', beforeRotation, 200);
    await attempt('role token of the current key (control)', roleBeforeRotation, 200);
    await provider.rotateKeys();
    await attempt('token of the new key after rotation (control)', await provider.mint('admin'), 200);
    await attempt('unknown kid after rotation (old key removed)', beforeRotation, 401);
    await attempt('role token, unknown kid after rotation', roleBeforeRotation, 401);

    // Whatever was published meanwhile reached no one: nothing is subscribed.
    publishAll(ingest, storage);
    assert.equal(ingest.liveSubscriptions + storage.liveSubscriptions, 0);

    const width = Math.max(...rows.map((row) => row.attack.length));
    t.diagnostic('attack matrix (gateway level, GET /ingest/monitor and /storage/monitor)');
    t.diagnostic(`${'attack'.padEnd(width)}  ingest  storage  streamed  body`);
    for (const row of rows) {
      t.diagnostic(
        `${row.attack.padEnd(width)}  ${String(row.ingest).padEnd(6)}  ${String(row.storage).padEnd(7)}  ${String(row.streamed).padEnd(8)}  ${row.body}`,
      );
    }
  });

  it('sends each OIDC user exactly the events Enduro would, pings always', async (t) => {
    const clients = new Map<string, { ingest: SseTestClient; storage: SseTestClient }>();
    for (const account of Object.keys(EXPECTED)) {
      const token = await provider.mint(account, { expiresInSec: 600 });
      const pair = {
        ingest: await openSse(`${url}/ingest/monitor`, bearer(token)),
        storage: await openSse(`${url}/storage/monitor`, bearer(token)),
      };
      assert.deepEqual([pair.ingest.status, pair.storage.status], [200, 200], `${account}: both streams open`);
      clients.set(account, pair);
    }
    const users = clients.size;
    await until(
      () => ingest.liveSubscriptions === users && storage.liveSubscriptions === users,
      60_000,
      'every stream subscribed',
    );
    publishAll(ingest, storage);
    const published = INGEST_EVENTS.length + STORAGE_EVENTS.length;
    t.diagnostic(
      `per-user event counts (of ${INGEST_EVENTS.length} ingest + ${STORAGE_EVENTS.length} storage = ${published} published, pings included)`,
    );
    for (const [account, expected] of Object.entries(EXPECTED)) {
      const client = clients.get(account)!;
      await Promise.all([sawEnd(client.ingest), sawEnd(client.storage)]);
      const got = { ingest: typesOf(client.ingest), storage: typesOf(client.storage) };
      t.diagnostic(
        `${account.padEnd(12)} ingest ${String(got.ingest.length).padStart(2)}  storage ${String(got.storage.length).padStart(2)}`,
      );
      assert.deepEqual(got.ingest.sort(), [...expected.ingest].sort(), `${account}: ingest`);
      assert.deepEqual(got.storage.sort(), [...expected.storage].sort(), `${account}: storage`);
      client.ingest.close();
      client.storage.close();
    }
    await until(() => ingest.liveSubscriptions === 0 && storage.liveSubscriptions === 0, 60_000, 'streams closed');
  });

  it('ends the stream when the OIDC token expires', async (t) => {
    // A few seconds: enough for the gateway to accept it on a loaded machine, short enough to wait for.
    const token = await provider.mint('admin', { expiresInSec: 6 });
    const expiresAt = (decodeJwt(token).exp as number) * 1000;
    const client = await openSse(`${url}/ingest/monitor`, bearer(token));
    assert.equal(client.status, 200);
    await client.waitFor((messages) => messages.length > 0, 60_000);
    let ended = false;
    void client.ended.then(() => {
      ended = true;
    });
    await until(() => ended, 60_000, 'the stream to end when its token expires');
    const endedAt = Date.now();
    assert.match(client.messages[0]?.data ?? '', /"message":"Hello"/);
    await until(() => ingest.liveSubscriptions === 0, 60_000, 'the subscription to end');
    t.diagnostic(`stream ended ${endedAt - expiresAt} ms after the token's exp`);
  });
});
