import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { DecodeError } from '../errors.js';
import { type Canonicalizer, canonicalizerFor } from './canonical.js';
import { registerFormats } from './formats.js';
import { ingestPayloadSchemas, type MonitorEvent, type StorageMonitorEvent, storagePayloadSchemas } from './schemas.js';
import { describeViolation } from './violation.js';

// Formats must be known to TypeBox before the first compile below.
registerFormats();

/** Where a payload sits in a wire message; validation paths are relative to it. */
export const PAYLOAD_POINTER = '/value/value';

/** A member of a union at run time. */
export interface Member {
  readonly check: TypeCheck<TSchema>;
  readonly canonicalize: Canonicalizer;
}

/**
 * One union of the catalogue at run time: for each wire `type`, its compiled
 * validator and canonicalizer. Shared by the codec and the publish helpers so
 * both judge a payload the same way.
 */
export class Catalogue<E extends { type: string; value: unknown }> {
  readonly #members: Map<string, Member>;

  constructor(
    /** `ingest` or `storage`, for messages. */
    readonly name: string,
    schemas: Readonly<Record<string, TSchema>>,
  ) {
    const bySchema = new Map<TSchema, Member>();
    this.#members = new Map();
    for (const [type, schema] of Object.entries(schemas)) {
      let member = bySchema.get(schema);
      if (!member) {
        member = { check: TypeCompiler.Compile(schema), canonicalize: canonicalizerFor(schema) };
        bySchema.set(schema, member);
      }
      this.#members.set(type, member);
    }
  }

  /** Whether `type` is a member of this union (an own, exact key: `"__proto__"` is not). */
  has(type: string): boolean {
    return this.#members.has(type);
  }

  /** The compiled validator and canonicalizer of `type`, if it is a member. */
  member(type: string): Member | undefined {
    return this.#members.get(type);
  }

  /**
   * Validates a payload against the schema of `type`, which must be a member.
   * @returns the error describing the first violation, or `undefined` if valid.
   */
  invalidPayload(type: string, payload: unknown, member = this.#members.get(type)!): DecodeError | undefined {
    if (member.check.Check(payload)) return undefined;
    const violation = describeViolation(member.check.Errors(payload).First());
    const path = PAYLOAD_POINTER + violation.path;
    const why = violation.why;
    return new DecodeError('invalid-payload', `invalid ${type} payload at ${path}: ${why}`, {
      path,
      eventType: type,
    });
  }

  /** A copy of `payload` holding only catalogued fields, in canonical order. */
  canonicalPayload(type: string, payload: unknown): unknown {
    const member = this.#members.get(type);
    return member ? member.canonicalize(payload) : payload;
  }

  /** Narrows a checked `{type, value}` to the union's TS type. */
  event(type: string, value: unknown): E {
    return { type, value } as E;
  }
}

/** The ingest union at run time. */
export const ingestCatalogue = new Catalogue<MonitorEvent>('ingest', ingestPayloadSchemas);
/** The storage union at run time. */
export const storageCatalogue = new Catalogue<StorageMonitorEvent>('storage', storagePayloadSchemas);
