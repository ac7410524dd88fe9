/**
 * `require('tidings')` from CommonJS: Node >= 20.19 loads an ES module graph
 * with `require()` when the exports map has a condition `require` matches and
 * the graph has no top-level await. Tested on the built package as npm
 * installs it, from a plain `.cjs` consumer and from a TypeScript `.cts` one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type InstalledPackage, installPackage } from '../support/installed-package.js';

const run = promisify(execFile);
const tsc = resolve(import.meta.dirname, '../../node_modules/typescript/bin/tsc');

const CONSUMER = `'use strict';
const { createInMemoryEventService, ingestCodec, newIngestEventServiceInMem, publishIngestEvent } = require('tidings');

async function main() {
  const events = createInMemoryEventService();
  const sub = await events.subscribe();
  events.publish({ sip: 'a1', status: 'processing' });
  for await (const event of sub) {
    console.log(JSON.stringify(event));
    break;
  }
  await events.close();

  const ingest = newIngestEventServiceInMem();
  const ingestSub = await ingest.subscribe();
  publishIngestEvent(ingest, 'sip_status_updated_event', { uuid: 'u1', status: 'ingested' });
  for await (const event of ingestSub) {
    console.log(ingestCodec.encode(event));
    break;
  }
  await ingest.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

let pkg: InstalledPackage;
before(async () => {
  pkg = await installPackage(['@types/node']);
});
after(() => pkg?.remove());

test("a CommonJS consumer require()s 'tidings', publishes and receives, and Node prints no warning", async () => {
  writeFileSync(join(pkg.dir, 'consumer.cjs'), CONSUMER);
  const { stdout, stderr } = await run(process.execPath, ['consumer.cjs'], { cwd: pkg.dir });
  assert.equal(stderr, '');
  assert.equal(
    stdout,
    '{"sip":"a1","status":"processing"}\n{"value":{"type":"sip_status_updated_event","value":{"uuid":"u1","status":"ingested"}}}\n',
  );
});

test("a CommonJS TypeScript consumer (module NodeNext, strict) type-checks against 'tidings'", async () => {
  writeFileSync(
    join(pkg.dir, 'consumer.cts'),
    `import { createInMemoryEventService, type Subscription } from 'tidings';

export async function first(): Promise<{ n: number }> {
  const events = createInMemoryEventService<{ n: number }>();
  const sub: Subscription<{ n: number }> = await events.subscribe();
  events.publish({ n: 1 });
  for await (const event of sub) return event;
  throw new Error('no event');
}
`,
  );
  writeFileSync(
    join(pkg.dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        types: ['node'],
      },
      files: ['consumer.cts'],
    }),
  );
  await assert.doesNotReject(run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: pkg.dir }), 'tsc failed');
});
