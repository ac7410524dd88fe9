import { Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/**
 * Copies a value keeping only the properties its schema declares, in schema
 * order, and dropping `undefined`. It never validates: it is applied to
 * values that were validated (decode) or that the type system vouches for
 * (encode), and tolerates anything else without throwing.
 */
export type Canonicalizer = (value: unknown) => unknown;

const identity: Canonicalizer = (value) => value;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectCanonicalizer(fields: ReadonlyArray<readonly [string, Canonicalizer]>): Canonicalizer {
  // Generated straight-line code: constant property names keep V8's inline
  // caches monomorphic, which makes this several times faster than a loop
  // over a key array (decode runs it on every message). Names come from the
  // catalogue's schemas, never from input, and are embedded as JSON strings.
  const children = fields.map(([, c]) => c);
  const body = fields
    .map(([key, child], i) => {
      const k = JSON.stringify(key);
      const copy = child === identity ? 'x' : `c[${i}](x)`;
      return `x = v[${k}]; if (x !== undefined) o[${k}] = ${copy};`;
    })
    .join('\n');
  // The output is a fresh literal object whose keys are only schema names,
  // never `__proto__`, so hostile input cannot reach a prototype.
  const make = new Function(
    'c',
    `return function canonicalize(v) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
      const o = {};
      let x;
      ${body}
      return o;
    };`,
  ) as (children: Canonicalizer[]) => Canonicalizer;
  return make(children);
}

function fieldsOf(schema: TSchema): Array<readonly [string, Canonicalizer]> {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  return Object.entries(properties).map(([k, s]) => [k, canonicalizerFor(s)] as const);
}

/** Builds the canonicalizer of a TypeBox schema (objects, arrays, unions, scalars). */
export function canonicalizerFor(schema: TSchema): Canonicalizer {
  switch (schema[Kind]) {
    case 'Object':
      return objectCanonicalizer(fieldsOf(schema));
    case 'Array': {
      const item = canonicalizerFor((schema as unknown as { items: TSchema }).items);
      if (item === identity) return identity;
      return (value) => (Array.isArray(value) ? value.map(item) : value);
    }
    case 'Union': {
      const members = (schema as unknown as { anyOf: TSchema[] }).anyOf;
      const objects = members.filter((m) => m[Kind] === 'Object');
      if (objects.length === 0) return identity;
      // An untagged union of objects (the location config value): use the
      // first member the value satisfies, as `anyOf` matches it; if none
      // does, keep every field any member declares.
      const candidates = objects.map((m) => ({
        check: TypeCompiler.Compile(m),
        canonicalize: objectCanonicalizer(fieldsOf(m)),
      }));
      const merged = new Map<string, Canonicalizer>();
      for (const member of objects) for (const [k, c] of fieldsOf(member)) if (!merged.has(k)) merged.set(k, c);
      const fallback = objectCanonicalizer([...merged]);
      return (value) => {
        if (!isPlainObject(value)) return value;
        for (const c of candidates) if (c.check.Check(value)) return c.canonicalize(value);
        return fallback(value);
      };
    }
    default:
      return identity;
  }
}
