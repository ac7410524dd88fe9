import { Kind, type TSchema } from '@sinclair/typebox';
import { type ValueError, type ValueErrorIterator, ValueErrorType } from '@sinclair/typebox/errors';

/** Where a payload breaks its schema (a JSON pointer into the payload) and why, in words a person acts on. */
export interface Violation {
  readonly path: string;
  readonly why: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The last segment of a JSON pointer, unescaped (RFC 6901). */
function lastKey(pointer: string): string {
  return pointer
    .slice(pointer.lastIndexOf('/') + 1)
    .replace(/~1/g, '/')
    .replace(/~0/g, '~');
}

/**
 * For a value matching no member of a union of objects (the location config),
 * the member it was most likely meant to be: the one declaring most of the
 * fields it has, then the one it misses least. Its first error says what is
 * wrong, where "matches no member" says nothing.
 */
function likeliestMember(
  members: readonly TSchema[],
  value: unknown,
  errors: ValueErrorIterator[],
): ValueError | undefined {
  if (!isObject(value) || !members.every((m) => m[Kind] === 'Object') || errors.length !== members.length)
    return undefined;
  let best: { present: number; errors: ValueError[] } | undefined;
  members.forEach((member, i) => {
    const declared = Object.keys((member as { properties?: object }).properties ?? {});
    const present = declared.filter((k) => Object.hasOwn(value, k)).length;
    const found = [...errors[i]!];
    if (
      best === undefined ||
      present > best.present ||
      (present === best.present && found.length < best.errors.length)
    ) {
      best = { present, errors: found };
    }
  });
  return best?.errors[0];
}

/**
 * Describes the first violation TypeBox reports. A missing required field is
 * reported as missing (TypeBox gives it the field's own schema, which would
 * otherwise read as a type mismatch), an enum names its allowed values, and a
 * union of objects is judged against the member the value was meant to be.
 */
export function describeViolation(first: ValueError | undefined): Violation {
  if (first === undefined) return { path: '', why: 'does not match its schema' };
  if (first.type === ValueErrorType.ObjectRequiredProperty) {
    return { path: first.path, why: `missing required field '${lastKey(first.path)}'` };
  }
  if (first.type === ValueErrorType.Union) {
    const members = (first.schema as { anyOf?: TSchema[] }).anyOf ?? [];
    if (members.length > 0 && members.every((m) => typeof (m as { const?: unknown }).const === 'string')) {
      return { path: first.path, why: `expected one of ${members.map((m) => JSON.stringify(m.const)).join(', ')}` };
    }
    const meant = likeliestMember(members, first.value, first.errors);
    if (meant !== undefined) return describeViolation(meant);
  }
  return { path: first.path, why: first.message };
}
