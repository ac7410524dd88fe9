// `tidings serve` auth flags, on the built command: --no-auth and tokens carrying attributes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CliProcesses, ensureBuilt, runCli } from '../../test/support/cli-process.js';
import { openSse } from '../../test/support/sse-client.js';

const typeOf = (data: string): string => (JSON.parse(data) as { value: { type: string } }).value.type;

describe('tidings serve: auth flags (built)', () => {
  const running = new CliProcesses();
  before(() => ensureBuilt());
  after(() => running.killAll());

  it('--no-auth warns, asks no token, and streams every event', async () => {
    const serve = running.spawn(['serve', '--demo', '--no-auth', '--port', '0', '--demo-interval', '20']);
    const [, base] = await serve.waitFor('stdout', /dashboard +(http:\/\/127\.0\.0\.1:\d+)\/\n/);
    assert.match(serve.stderr, /WARNING: authentication is disabled \(--no-auth\)/);
    assert.match(serve.stdout, /auth +DISABLED/);
    assert.doesNotMatch(serve.stdout, /token/);
    const client = await openSse(`${base}/ingest/monitor`);
    assert.equal(client.status, 200);
    await client.waitFor((m) => m.some((message) => typeOf(message.data) === 'sip_task_created_event'), 15_000);
    client.close();
    serve.child.kill('SIGTERM');
    assert.equal((await serve.exited).code, 0);
  });

  it('--no-auth with tokens is a contradiction, not a guess', async () => {
    const done = await runCli(['serve', '--demo', '--no-auth', '--port', '0'], { env: { TIDINGS_TOKENS: 'x' } });
    assert.equal(done.code, 1);
    assert.match(done.stderr, /--no-auth and TIDINGS_TOKENS contradict each other/);
    const bad = await runCli(['serve', '--demo', '--port', '0', '--tokens', 'viewer@ingest:sips:list||x']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--tokens: token list: empty attribute/);
  });

  it('--tokens token@attributes filters the events of that token', async () => {
    const serve = running.spawn([
      'serve',
      '--demo',
      '--port',
      '0',
      '--demo-interval',
      '20',
      '--tokens',
      'sips@ingest:sips:list,tasks:ingest@ingest:sips:workflows:list',
    ]);
    const [, base] = await serve.waitFor('stdout', /dashboard +(http:\/\/127\.0\.0\.1:\d+)\//);
    const sips = await openSse(`${base}/ingest/monitor`, { authorization: 'Bearer sips' });
    const tasks = await openSse(`${base}/ingest/monitor`, { authorization: 'Bearer tasks' });
    const tasksStorage = await openSse(`${base}/storage/monitor`, { authorization: 'Bearer tasks' });
    assert.equal(tasksStorage.status, 403, 'the scope still applies');
    const SIP_TYPES = ['sip_created_event', 'sip_updated_event', 'sip_status_updated_event'];
    // Both see their own kind of event; the demo walks SIPs through workflows, so both kinds keep coming.
    await sips.waitFor((m) => m.filter((message) => SIP_TYPES.includes(typeOf(message.data))).length >= 5, 15_000);
    await tasks.waitFor((m) => m.filter((message) => /^sip_(task|workflow)_/.test(typeOf(message.data))).length >= 5);
    const seen = (client: typeof sips): Set<string> => new Set(client.messages.map((m) => typeOf(m.data)));
    assert.deepEqual(
      [...seen(sips)].filter((type) => type !== 'ingest_ping_event' && !SIP_TYPES.includes(type)),
      [],
    );
    assert.deepEqual(
      [...seen(tasks)].filter((type) => type !== 'ingest_ping_event' && !/^sip_(task|workflow)_/.test(type)),
      [],
    );
    sips.close();
    tasks.close();
    serve.child.kill('SIGTERM');
    assert.equal((await serve.exited).code, 0);
  });
});
