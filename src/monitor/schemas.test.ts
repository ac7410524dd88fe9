import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { loadContract } from '../../test/fixtures/load.js';
import {
  AIPSchema,
  AIPTaskSchema,
  AIPWorkflowSchema,
  AMSSConfigSchema,
  BatchSchema,
  ingestPayloadSchemas,
  LocationSchema,
  S3ConfigSchema,
  SFTPConfigSchema,
  SIPSchema,
  SIPTaskSchema,
  SIPWorkflowSchema,
  storagePayloadSchemas,
  URLConfigSchema,
} from './schemas.js';

type Json = Record<string, unknown>;
const contract = loadContract();

function resolve(schema: Json): Json {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  return contract.$defs[ref.replace('#/$defs/', '')] as Json;
}

/**
 * What validation depends on, in one comparable shape: types, required sets,
 * enums, formats, items and alternatives. Descriptions, defaults and the
 * TypeBox-only bounds that implement `int32` are left out.
 */
function essence(input: Json): unknown {
  const schema = resolve(input);
  const alternatives = schema.anyOf as Json[] | undefined;
  if (alternatives?.every((a) => 'const' in a)) {
    return { type: 'string', enum: alternatives.map((a) => a.const).sort() };
  }
  if (alternatives) return { anyOf: alternatives.map(essence) };
  const out: Json = { type: schema.type };
  if (schema.enum) out.enum = [...(schema.enum as string[])].sort();
  if (schema.format) out.format = schema.format;
  if (schema.items) out.items = essence(schema.items as Json);
  if (schema.type === 'object') {
    out.required = [...((schema.required as string[] | undefined) ?? [])].sort();
    const properties = (schema.properties ?? {}) as Record<string, Json>;
    out.properties = Object.fromEntries(
      Object.keys(properties)
        .sort()
        .map((k) => [k, essence(properties[k]!)]),
    );
  }
  return out;
}

const defs: Array<[string, TSchema]> = [
  ['EnduroIngestSip', SIPSchema],
  ['EnduroIngestSipTask', SIPTaskSchema],
  ['EnduroIngestSipWorkflow', SIPWorkflowSchema],
  ['EnduroIngestBatch', BatchSchema],
  ['EnduroStorageLocation', LocationSchema],
  ['EnduroStorageAip', AIPSchema],
  ['EnduroStorageAipTask', AIPTaskSchema],
  ['EnduroStorageAipWorkflow', AIPWorkflowSchema],
  ['AMSSConfig', AMSSConfigSchema],
  ['S3Config', S3ConfigSchema],
  ['SFTPConfig', SFTPConfigSchema],
  ['URLConfig', URLConfigSchema],
];

describe('the TypeBox schemas mirror the contract', () => {
  for (const [name, schema] of defs) {
    test(`${name}`, () => {
      assert.deepEqual(essence(schema as unknown as Json), essence(contract.$defs[name] as Json));
    });
  }

  for (const [union, payloads] of [
    ['IngestEvent', ingestPayloadSchemas],
    ['StorageEvent', storagePayloadSchemas],
  ] as const) {
    test(`${union}: the same members, in order, with the same payloads`, () => {
      const members = (
        ((contract.$defs[union] as Json).properties as { value: { oneOf: Json[] } }).value.oneOf as Array<{
          properties: { type: { const: string }; value: Json };
        }>
      ).map((m) => [m.properties.type.const, m.properties.value] as const);
      assert.deepEqual(
        Object.keys(payloads),
        members.map(([type]) => type),
      );
      for (const [type, payload] of members) {
        const mine = (payloads as Record<string, TSchema>)[type]!;
        assert.deepEqual(essence(mine as unknown as Json), essence(payload), type);
      }
    });
  }
});
