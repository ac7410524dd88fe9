/**
 * Enduro's attribute-based access control: how a verified token's claims
 * become an attribute list, and when such a list satisfies a requirement.
 * Ported from Enduro's `internal/auth` (token verifier and `CheckAttributes`).
 */
import { AuthError } from '../errors.js';
import type { AbacConfig } from './types.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads a principal's attributes from verified token claims, as Enduro does:
 * follows `claimPath` (split by `claimPathSeparator` when one is set), takes
 * the multi-valued claim there (non-string items ignored), keeps the values
 * that start with `claimValuePrefix` with the prefix cut off, and with
 * `useRoles` maps each value through `rolesMapping` (unknown roles give
 * nothing; duplicates removed, first occurrence kept).
 *
 * One deliberate difference: where Go's nil slice would make an empty result
 * pass every check, an empty result here is `[]`, which passes nothing.
 *
 * @returns `undefined` when ABAC is disabled (no attribute checks at all), else the list.
 * @throws {AuthError} when the claim path is missing or its value is not a list: the request is refused.
 * @throws {TypeError} when `abac` is enabled without a `claimPath`, or `useRoles` without `rolesMapping`.
 */
export function parseAttributes(
  claims: Readonly<Record<string, unknown>>,
  abac: AbacConfig,
): readonly string[] | undefined {
  if (!abac.enabled) return undefined;
  if (typeof abac.claimPath !== 'string' || abac.claimPath.length === 0) {
    throw new TypeError('abac.claimPath must be a non-empty string when abac.enabled');
  }
  if (abac.useRoles && !isRecord(abac.rolesMapping)) {
    throw new TypeError('abac.rolesMapping must be given when abac.useRoles');
  }
  const separator = abac.claimPathSeparator ?? '';
  const keys = separator === '' ? [abac.claimPath] : abac.claimPath.split(separator);
  let node: unknown = claims;
  for (const key of keys) {
    // Own properties only: a claim path such as `__proto__` or `constructor` must not reach Object's prototype.
    if (!isRecord(node) || !Object.hasOwn(node, key)) {
      throw new AuthError(`attributes not found in token, claim path: ${abac.claimPath}`);
    }
    node = node[key];
  }
  if (!Array.isArray(node)) {
    throw new AuthError(`attributes are not part of a multivalue claim, claim path: ${abac.claimPath}`);
  }
  const prefix = abac.claimValuePrefix ?? '';
  const values: string[] = [];
  for (const item of node) {
    if (typeof item === 'string' && item.startsWith(prefix)) values.push(item.slice(prefix.length));
  }
  if (!abac.useRoles) return values;
  const mapping = abac.rolesMapping ?? {};
  const attributes = new Set<string>();
  for (const role of values) {
    if (!Object.hasOwn(mapping, role)) continue;
    for (const attribute of mapping[role] ?? []) attributes.add(attribute);
  }
  return [...attributes];
}

/**
 * Enduro's matching rule: `user` satisfies `required` when it is `undefined`
 * (auth or ABAC disabled), holds `*`, or holds every required attribute
 * exactly or through a wildcard ancestor (`ingest:sips:list` is held by
 * `ingest:sips:*` and `ingest:*`). An empty `user` list passes nothing but an
 * empty requirement, which passes anyone, as in Enduro.
 */
export function checkAttributes(user: readonly string[] | undefined, required: readonly string[]): boolean {
  if (user === undefined || user.includes('*')) return true;
  for (const wanted of required) {
    let attribute = wanted;
    while (!user.includes(attribute)) {
      const bare = attribute.endsWith(':*') ? attribute.slice(0, -2) : attribute;
      const colon = bare.lastIndexOf(':');
      if (colon < 0) return false;
      attribute = `${bare.slice(0, colon)}:*`;
    }
  }
  return true;
}
