import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ingestEventArb, storageEventArb } from '../../test/fixtures/arbitrary.js';
import { GO_CONFIG_FIELDS } from '../../test/fixtures/go-names.js';
import { canonicalFixtures, contractValidator, legacyFixtures } from '../../test/fixtures/load.js';
import type { Codec } from '../core/codec.js';
import { DecodeError } from '../errors.js';
import { ingestCodec, storageCodec } from './codec.js';
import { goFieldToSnake } from './legacy-goa.js';
import { LocationConfigSchema, type MonitorEvent, STORAGE_EVENT_TYPES, type StorageMonitorEvent } from './schemas.js';

const fixtures = canonicalFixtures();
const codecOf = (union: 'ingest' | 'storage') => (union === 'ingest' ? ingestCodec : storageCodec) as Codec<unknown>;

function decodeOk<T>(codec: Codec<T>, text: string) {
  const result = codec.decode(text);
  if (!result.ok) assert.fail(`expected ${text} to decode, got ${result.error.reason}: ${result.error.message}`);
  return result;
}

function decodeErr<T>(codec: Codec<T>, text: string): DecodeError {
  const result = codec.decode(text);
  if (result.ok) assert.fail(`expected ${text} to be rejected`);
  assert.ok(result.error instanceof DecodeError);
  return result.error;
}

describe('fixtures', () => {
  test('cover every one of the 21 event types with a minimal and a full example', () => {
    const ingestTypes = new Set(fixtures.filter((f) => f.union === 'ingest').map((f) => f.type));
    const storageTypes = new Set(fixtures.filter((f) => f.union === 'storage').map((f) => f.type));
    assert.equal(ingestTypes.size, 10);
    assert.equal(storageTypes.size, 11);
    for (const f of fixtures) {
      for (const variant of ['minimal', 'full']) {
        assert.ok(
          fixtures.some((g) => g.type === f.type && g.variant === variant),
          `${f.type} has a ${variant} fixture`,
        );
      }
      assert.equal(JSON.parse(f.text).value.type, f.type, `${f.file} holds a ${f.type}`);
      assert.ok(!f.text.includes('\n'), `${f.file} is one line`);
    }
  });

  for (const f of fixtures) {
    test(`${f.union}/${f.file} satisfies the contract`, () => {
      const validate = contractValidator();
      assert.ok(validate(JSON.parse(f.text)), JSON.stringify(validate.errors));
      const union = contractValidator(f.union === 'ingest' ? 'IngestEvent' : 'StorageEvent');
      assert.ok(union(JSON.parse(f.text)), JSON.stringify(union.errors));
    });

    test(`${f.union}/${f.file}: encode(decode(x)) === x`, () => {
      const codec = codecOf(f.union);
      const result = decodeOk(codec, f.text);
      assert.equal(codec.encode(result.event, result.trace), f.text);
    });
  }

  test('the other union rejects each fixture as an unknown type', () => {
    for (const f of fixtures) {
      const error = decodeErr(codecOf(f.union === 'ingest' ? 'storage' : 'ingest'), f.text);
      assert.equal(error.reason, 'unknown-type');
      assert.equal(error.eventType, f.type);
    }
  });
});

describe('decode', () => {
  const full = fixtures.find((f) => f.file === 'sip_workflow_updated_event.full.json')!;

  test('keeps date-times as the exact strings sent (nanoseconds, offsets)', () => {
    const { event } = decodeOk(ingestCodec, full.text);
    assert.equal(event.type, 'sip_workflow_updated_event');
    if (event.type !== 'sip_workflow_updated_event') return;
    assert.equal(event.value.item.started_at, '2024-05-13T09:21:45.902117304Z');
    assert.equal(event.value.item.completed_at, '2024-05-13T11:02:07.5+02:00');
  });

  test('ignores and drops unknown fields at every level', () => {
    const message = JSON.parse(full.text);
    message.extra = 1;
    message.value.extra = { nested: true };
    message.value.value.extra = 'x';
    message.value.value.item.extra = [1, 2];
    message.value.value.item.tasks[0].extra = null;
    const { event } = decodeOk(ingestCodec, JSON.stringify(message));
    assert.deepEqual(event, decodeOk(ingestCodec, full.text).event);
    assert.equal(ingestCodec.encode(event), full.text);
  });

  test('encode writes fields in canonical order whatever order the event was built in', () => {
    const { event } = decodeOk(ingestCodec, full.text);
    const reversed = JSON.parse(JSON.stringify(event), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ) as MonitorEvent;
    assert.notDeepEqual(Object.keys(reversed.value), Object.keys(event.value));
    assert.equal(ingestCodec.encode(reversed), full.text);
  });

  test('returns the trace carrier and writes it back after "value"', () => {
    const traced = fixtures.find((f) => f.file === 'sip_updated_event.traced.json')!;
    const result = decodeOk(ingestCodec, traced.text);
    assert.deepEqual(result.trace, {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'congo=t61rcWkgMzE',
    });
    assert.match(
      ingestCodec.encode(result.event, result.trace),
      /^\{"value":\{.*\}\},"traceparent":"00-[^"]+","tracestate":"[^"]+"\}$/,
    );
    assert.equal(decodeOk(ingestCodec, full.text).trace, undefined);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    const onlyParent = ingestCodec.encode(result.event, { traceparent });
    assert.ok(onlyParent.endsWith(`},"traceparent":"${traceparent}"}`));
    assert.deepEqual(decodeOk(ingestCodec, onlyParent).trace, { traceparent });
  });

  test('ignores trace fields that are not strings', () => {
    const message = { ...JSON.parse(full.text), traceparent: 42, tracestate: { a: 1 } };
    assert.equal(decodeOk(ingestCodec, JSON.stringify(message)).trace, undefined);
  });
});

describe('decode errors', () => {
  const sip = JSON.parse(fixtures.find((f) => f.file === 'sip_workflow_updated_event.full.json')!.text);
  const withItem = (patch: Record<string, unknown>) =>
    JSON.stringify({
      value: { ...sip.value, value: { ...sip.value.value, item: { ...sip.value.value.item, ...patch } } },
    });

  test('not-json', () => {
    for (const text of ['', 'nope', '{"value":', '{"value":{"type":"x"}}}', '\u0000']) {
      const error = decodeErr(ingestCodec, text);
      assert.equal(error.reason, 'not-json', text);
      assert.equal(error.code, 'ERR_DECODE');
      assert.equal(error.path, undefined);
    }
  });

  test('not-json for a non-string argument from untyped JavaScript', () => {
    for (const value of [undefined, null, 42, {}, Buffer.from('{}')]) {
      assert.equal(decodeErr(ingestCodec, value as unknown as string).reason, 'not-json');
    }
  });

  test('no-envelope, pointing at what is missing', () => {
    const cases: Array<[string, string]> = [
      ['null', '/'],
      ['[]', '/'],
      ['"text"', '/'],
      ['42', '/'],
      ['{}', '/value'],
      ['{"type":"sip_created_event","value":{}}', '/value/type'],
      ['{"value":"sip_created_event"}', '/value'],
      ['{"value":[]}', '/value'],
      ['{"value":{"value":{}}}', '/value/type'],
      ['{"value":{"type":7,"value":{}}}', '/value/type'],
    ];
    for (const [text, path] of cases) {
      const error = decodeErr(ingestCodec, text);
      assert.equal(error.reason, 'no-envelope', text);
      assert.equal(error.path, path, text);
    }
  });

  test('unknown-type names the type (a newer producer is skippable)', () => {
    for (const type of ['sip_deleted_event', 'aip_created_event', '__proto__', 'constructor', 'toString', '']) {
      const error = decodeErr(ingestCodec, JSON.stringify({ value: { type, value: {} } }));
      assert.equal(error.reason, 'unknown-type', type);
      assert.equal(error.eventType, type);
      assert.equal(error.path, '/value/type');
    }
  });

  test('invalid-payload with the JSON pointer of the violation', () => {
    const cases: Array<[string, string]> = [
      [withItem({ status: 'finished' }), '/value/value/item/status'],
      [withItem({ type: 'create' }), '/value/value/item/type'],
      [withItem({ started_at: '2024-05-13 09:21' }), '/value/value/item/started_at'],
      [withItem({ started_at: '2024-02-30T00:00:00Z' }), '/value/value/item/started_at'],
      [withItem({ completed_at: '2024-05-13T09:21:45' }), '/value/value/item/completed_at'],
      [withItem({ uuid: 7 }), '/value/value/item/uuid'],
      [
        withItem({ tasks: [{ ...sip.value.value.item.tasks[0], status: 'bogus' }] }),
        '/value/value/item/tasks/0/status',
      ],
      [withItem({ tasks: {} }), '/value/value/item/tasks'],
      [JSON.stringify({ value: { type: 'sip_workflow_updated_event', value: { uuid: 'u' } } }), '/value/value/item'],
      [JSON.stringify({ value: { type: 'sip_workflow_updated_event' } }), '/value/value'],
      [JSON.stringify({ value: { type: 'ingest_ping_event', value: [] } }), '/value/value'],
      [JSON.stringify({ value: { type: 'ingest_ping_event', value: { message: 1 } } }), '/value/value/message'],
    ];
    for (const [text, path] of cases) {
      const error = decodeErr(ingestCodec, text);
      assert.equal(error.reason, 'invalid-payload', text);
      assert.equal(error.path, path, text);
      assert.ok(error.message.includes(path), error.message);
      assert.equal(typeof error.eventType, 'string');
    }
  });

  test('invalid-payload for formats and integer ranges of the contract', () => {
    const sipEvent = (item: Record<string, unknown>) =>
      JSON.stringify({
        value: {
          type: 'sip_created_event',
          value: { uuid: 'u', item: { uuid: 'u', status: 'queued', created_at: '2024-01-01T00:00:00Z', ...item } },
        },
      });
    assert.equal(decodeErr(ingestCodec, sipEvent({ aip_uuid: 'not-a-uuid' })).path, '/value/value/item/aip_uuid');
    assert.equal(decodeErr(ingestCodec, sipEvent({ file_count: 2 ** 31 })).path, '/value/value/item/file_count');
    assert.equal(decodeErr(ingestCodec, sipEvent({ file_count: 1.5 })).path, '/value/value/item/file_count');
    assert.equal(decodeErr(ingestCodec, sipEvent({ failed_as: 'AIP' })).reason, 'invalid-payload');
    assert.ok(
      ingestCodec.decode(
        sipEvent({ file_count: -(2 ** 31), aip_uuid: 'urn:uuid:7C1F0A3E-2B6D-4E8F-9A0B-3C4D5E6F7A8B' }),
      ).ok,
    );
    const enumError = decodeErr(ingestCodec, sipEvent({ status: 'done' }));
    assert.match(enumError.message, /expected one of "error", "failed"/);
  });

  test('a location config must match one of the four config shapes', () => {
    const location = JSON.parse(fixtures.find((f) => f.file === 'location_created_event.full.json')!.text);
    location.value.value.item.config.value = { region: 'eu' };
    // Judged as the S3 config it was meant to be (it has an S3 field), not as "no member matches".
    const partial = decodeErr(storageCodec, JSON.stringify(location));
    assert.equal(partial.path, '/value/value/item/config/value/bucket');
    assert.match(partial.message, /missing required field 'bucket'$/);
    location.value.value.item.config.value = 'x';
    assert.equal(decodeErr(storageCodec, JSON.stringify(location)).path, '/value/value/item/config/value');
    location.value.value.item.config = { type: 'ftp', value: { url: 'x' } };
    assert.equal(decodeErr(storageCodec, JSON.stringify(location)).path, '/value/value/item/config/type');
  });
});

describe('decode errors a person can act on', () => {
  /** Every pointer into the object members of `node`, with a way to delete it and put it back. */
  function* members(node: unknown, pointer: string): Generator<[string, () => () => void]> {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) yield* members(node[i], `${pointer}/${i}`);
    } else if (node !== null && typeof node === 'object') {
      const object = node as Record<string, unknown>;
      for (const [key, value] of Object.entries(object)) {
        yield [
          `${pointer}/${key}`,
          () => {
            delete object[key];
            return () => {
              object[key] = value;
            };
          },
        ];
        yield* members(value, `${pointer}/${key}`);
      }
    }
  }

  test('a missing required field is reported as missing, at the pointer it should have had', () => {
    let required = 0;
    for (const f of fixtures) {
      const doc = JSON.parse(f.text);
      for (const [pointer, remove] of members(doc.value.value, '/value/value')) {
        const restore = remove();
        const result = codecOf(f.union).decode(JSON.stringify(doc));
        restore();
        if (result.ok) continue; // an optional field
        required++;
        const key = pointer.slice(pointer.lastIndexOf('/') + 1);
        assert.equal(result.error.reason, 'invalid-payload', `${f.file} without ${pointer}`);
        assert.equal(result.error.path, pointer, `${f.file} without ${pointer}`);
        assert.ok(
          result.error.message.endsWith(`at ${pointer}: missing required field '${key}'`),
          `${f.file} without ${pointer}: ${result.error.message}`,
        );
      }
    }
    assert.ok(required > 100, `${required} required fields removed`);
    const noPayload = decodeErr(ingestCodec, '{"value":{"type":"sip_created_event"}}');
    assert.equal(noPayload.path, '/value/value');
    assert.match(noPayload.message, /missing required field 'value'$/);
  });

  test('no decode failure carries an empty JSON pointer', () => {
    const roots = ['null', '[]', '"text"', '42', 'true', '[{"value":{}}]'];
    const generated = fc.sample(
      fc.oneof(
        fc.json({ maxDepth: 3 }),
        mutatedMessages(storageEventArb).map((m) => JSON.stringify(m)),
      ),
      {
        numRuns: 5_000,
        seed: 12,
      },
    );
    for (const text of [...roots, ...generated]) {
      for (const codec of [ingestCodec, storageCodec] as Codec<unknown>[]) {
        const result = codec.decode(text);
        if (!result.ok) assert.notEqual(result.error.path, '', `${text}: ${result.error.message}`);
      }
    }
    for (const text of roots) assert.equal(decodeErr(ingestCodec, text).path, '/', text);
  });
});

describe('legacy goa encoding', () => {
  const storageTypes = new Set<string>(STORAGE_EVENT_TYPES);
  const legacy = legacyFixtures(storageTypes);

  test('fixtures cover every union key', () => {
    assert.deepEqual([...new Set(legacy.map((l) => l.unionKey))].sort(), [
      'event',
      'ingest_value',
      'storage_value',
      'value',
    ]);
  });

  for (const l of legacy) {
    test(`${l.file} decodes to the canonical event`, () => {
      const codec = codecOf(l.union);
      const result = decodeOk(codec, l.text);
      assert.equal(codec.encode(result.event), l.expected);
    });
  }

  test('fixtures hold every location config kind, as a nested goa union and as a bare Go struct', () => {
    const seen = new Set<string>();
    for (const l of legacy) {
      const envelope = JSON.parse(l.text)[l.unionKey];
      const config = JSON.parse(envelope.Value).Item?.Config;
      if (config === undefined) continue;
      const expected = JSON.parse(l.expected).value.value.item.config;
      const form = typeof config.Type === 'string' ? 'nested union' : 'bare struct';
      const goFields = form === 'nested union' ? Object.keys(JSON.parse(config.Value)) : Object.keys(config);
      // Each Go field is the contract field it must become, and nothing is lost on the way.
      assert.deepEqual(
        goFields,
        Object.keys(expected.value).map((field) => GO_CONFIG_FIELDS[field]),
        `${l.file}: Go fields of a ${expected.type} config`,
      );
      const result = decodeOk(storageCodec, l.text);
      const decoded = (result.event.value as { item: { config: { type: string; value: object } } }).item.config;
      assert.equal(decoded.type, expected.type, `${l.file} decodes as a ${expected.type} config`);
      assert.deepEqual(decoded.value, expected.value, `${l.file}: every field mapped`);
      seen.add(`${expected.type} as a ${form}`);
    }
    const kinds = LocationConfigSchema.properties.type.anyOf.map((member) => member.const);
    for (const kind of kinds) {
      for (const form of ['nested union', 'bare struct'])
        assert.ok(seen.has(`${kind} as a ${form}`), `${kind} as a ${form}`);
    }
  });

  test("Go's field names of every location config kind become the contract's (APIKey → api_key)", () => {
    const fields = LocationConfigSchema.properties.value.anyOf.flatMap((member) => Object.keys(member.properties));
    for (const field of fields) {
      const go = GO_CONFIG_FIELDS[field];
      assert.ok(go !== undefined, `the Go name of ${field} is known`);
      assert.equal(goFieldToSnake(go), field, `${go} → ${field}`);
    }
    assert.equal(goFieldToSnake('AipUUID'), 'aip_uuid');
    assert.equal(goFieldToSnake('TemporalID'), 'temporal_id');
  });

  test('an unparsable Value is not-json, pointing at it', () => {
    const error = decodeErr(ingestCodec, '{"event":{"Type":"sip_created_event","Value":"{oops"}}');
    assert.equal(error.reason, 'not-json');
    assert.equal(error.path, '/event/Value');
    assert.equal(decodeErr(ingestCodec, '{"event":{"Type":"sip_created_event","Value":{}}}').path, '/event/Value');
  });

  test('unknown legacy types and invalid legacy payloads are reported like modern ones', () => {
    const unknown = decodeErr(ingestCodec, '{"ingest_value":{"Type":"sip_deleted_event","Value":"{}"}}');
    assert.equal(unknown.reason, 'unknown-type');
    assert.equal(unknown.eventType, 'sip_deleted_event');
    const invalid = decodeErr(
      ingestCodec,
      '{"event":{"Type":"sip_status_updated_event","Value":"{\\"UUID\\":\\"u\\",\\"Status\\":\\"gone\\"}"}}',
    );
    assert.equal(invalid.reason, 'invalid-payload');
    assert.equal(invalid.path, '/value/value/status');
  });
});

// ------------------------------------------------------------------ properties

/** Replaces or deletes one value somewhere in a JSON document. */
function mutate(doc: unknown, pick: number, replacement: unknown, remove: boolean): unknown {
  const copy = structuredClone(doc);
  const slots: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        slots.push([node, i]);
        walk(node[i]);
      }
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        slots.push([node as Record<string, unknown>, k]);
        walk(v);
      }
    }
  };
  walk(copy);
  if (slots.length === 0) return replacement;
  const [parent, key] = slots[pick % slots.length]!;
  if (remove && !Array.isArray(parent)) delete parent[key as string];
  else (parent as Record<string | number, unknown>)[key] = replacement;
  return copy;
}

const nearMiss = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    '2024-13-01T00:00:00Z',
    '2024-01-01T00:00:00',
    '2024-01-01t23:59:60Z',
    'queued',
    'in progress',
    '',
    2 ** 31,
    -1,
    1.5,
  ),
);

function mutatedMessages(events: fc.Arbitrary<{ type: string; value: unknown }>) {
  return fc
    .tuple(events, fc.nat(), nearMiss, fc.boolean())
    .map(([event, pick, replacement, remove]) => mutate({ value: event }, pick, replacement, remove));
}

/** Each union: its generator, its codec, and its definition in the contract. */
const UNIONS = [
  [ingestEventArb, ingestCodec, 'IngestEvent'],
  [storageEventArb, storageCodec, 'StorageEvent'],
] as const;

describe('properties', () => {
  test('arbitrary valid events satisfy the contract and round-trip unchanged', () => {
    for (const [arb, codec, def] of UNIONS) {
      const validate = contractValidator(def);
      fc.assert(
        fc.property(arb, (event) => {
          const text = (codec as Codec<unknown>).encode(event);
          assert.ok(validate(JSON.parse(text)), JSON.stringify(validate.errors));
          const result = decodeOk(codec as Codec<unknown>, text);
          assert.deepEqual(result.event, event);
          assert.equal((codec as Codec<unknown>).encode(result.event), text);
        }),
        { numRuns: 500 },
      );
    }
  });

  test('decode accepts exactly what the contract accepts (mutated events)', () => {
    for (const [arb, codec, def] of UNIONS) {
      const validate = contractValidator(def);
      fc.assert(
        fc.property(mutatedMessages(arb), (message) => {
          const accepted = (codec as Codec<unknown>).decode(JSON.stringify(message)).ok;
          assert.equal(accepted, validate(message), JSON.stringify(message));
        }),
        { numRuns: 2000 },
      );
    }
  });

  test('decode never throws on arbitrary strings or JSON values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.json()), (text) => {
        for (const codec of [ingestCodec, storageCodec] as Codec<unknown>[]) {
          const result = codec.decode(text);
          assert.ok(result.ok || result.error instanceof DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('zero throws over 100,000 generated hostile inputs', () => {
    const fixtureTexts = fixtures.map((f) => f.text);
    const legacyEnvelope = fc
      .tuple(
        fc.constantFrom('event', 'ingest_value', 'storage_value', 'value'),
        fc.string(),
        fc.oneof(fc.json(), fc.string()),
      )
      .map(([key, type, value]) => JSON.stringify({ [key]: { Type: type, Value: value } }));
    const hostile = fc.oneof(
      { arbitrary: fc.string({ unit: 'binary' }), weight: 4 },
      { arbitrary: fc.json({ maxDepth: 4 }), weight: 2 },
      mutatedMessages(ingestEventArb).map((m) => JSON.stringify(m)),
      mutatedMessages(storageEventArb).map((m) => JSON.stringify(m)),
      {
        arbitrary: fc.tuple(fc.constantFrom(...fixtureTexts), fc.nat()).map(([t, n]) => t.slice(0, n % t.length)),
        weight: 3,
      },
      legacyEnvelope,
      fc.nat({ max: 3_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      fc.nat({ max: 1_000 }).map((n) => `${'{"value":'.repeat(n)}{}${'}'.repeat(n)}`),
      fc.constantFrom(
        '{"__proto__":{"type":"sip_created_event"},"value":{"__proto__":{"polluted":true},"type":"ingest_ping_event","value":{"__proto__":{"message":1}}}}',
        '{"value":{"type":"batch_created_event","value":{"uuid":"u","item":{"uuid":"u","identifier":"i","sips_count":1e400,"status":"queued","created_at":"2024-01-01T00:00:00Z"}}}}',
        '{"value":{"type":"sip_status_updated_event","value":{"uuid":"u","status":"queued","constructor":{"prototype":{"x":1}}}}}',
        '{"event":{"Type":"location_created_event","Value":"{\\"Item\\":{\\"Config\\":{\\"Type\\":\\"s3\\",\\"Value\\":\\"[[[\\"}}}"}}',
        `{"value":{"type":"ingest_ping_event","value":{"message":"${'x'.repeat(65_536)}"}}}`,
        '-1e400',
        '\ud800',
      ),
    );
    let throws = 0;
    let decoded = 0;
    for (const text of fc.sample(hostile, { numRuns: 100_000, seed: 20240513 })) {
      for (const codec of [ingestCodec, storageCodec] as Codec<unknown>[]) {
        try {
          if (codec.decode(text).ok) decoded++;
        } catch {
          throws++;
        }
      }
    }
    assert.equal(throws, 0);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(decoded > 0, 'some generated inputs are valid, so the run exercised the success path too');
  });
});

describe('encode', () => {
  test('rejects an event of the other union with a TypeError naming its type', () => {
    const storageEvent = { type: 'aip_status_updated_event', value: { uuid: 'u', status: 'stored' } };
    assert.throws(() => ingestCodec.encode(storageEvent as unknown as MonitorEvent), {
      name: 'TypeError',
      message: /aip_status_updated_event/,
    });
    assert.throws(
      () => storageCodec.encode({ type: 'aip_status_updated_event' } as unknown as StorageMonitorEvent),
      TypeError,
    );
  });

  test('omits optional fields that are undefined', () => {
    const text = ingestCodec.encode({
      type: 'sip_status_updated_event',
      value: { uuid: 'u', status: 'queued' },
    });
    assert.equal(text, '{"value":{"type":"sip_status_updated_event","value":{"uuid":"u","status":"queued"}}}');
    const ping = ingestCodec.encode({ type: 'ingest_ping_event', value: { message: undefined } });
    assert.equal(ping, '{"value":{"type":"ingest_ping_event","value":{}}}');
  });
});
