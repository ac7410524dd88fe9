/**
 * The legacy goa union encoding, accepted on input only:
 * `{"<union>":{"Type":"sip_created_event","Value":"<JSON text>"}}`, where the
 * JSON text is a Go struct marshalled without tags (Go field names such as
 * `UUID`, `CreatedAt`, `AipUUID`, nil pointers as `null`).
 */

/** Envelope keys older Enduro producers used for the union. */
export const LEGACY_UNION_KEYS = ['event', 'ingest_value', 'storage_value', 'value'] as const;

/** A legacy message turned into the current TS shape, not yet validated. */
export type LegacyResult =
  | { readonly ok: true; readonly type: string; readonly value: unknown; readonly unionKey: string }
  | { readonly ok: false; readonly path: string; readonly message: string; readonly cause?: unknown };

// The payload schema is at most five levels deep; anything deeper is left as
// is (validation judges it) so hostile nesting cannot exhaust the stack.
const MAX_DEPTH = 8;

const hasUpper = /[A-Z]/;

/** `AipUUID` → `aip_uuid`, `APIKey` → `api_key`, `TemporalID` → `temporal_id`; snake_case passes unchanged. */
export function goFieldToSnake(name: string): string {
  if (!hasUpper.test(name)) return name;
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Renames Go field names to snake_case and drops `null`s (Go's nil pointers, i.e. absent optionals). */
function normalise(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => normalise(v, depth + 1));
  if (!isObject(value)) return value;
  // No prototype: a `__proto__` key in the input stays a plain key.
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === null || v === undefined) continue;
    out[goFieldToSnake(key)] = normalise(v, depth + 1);
  }
  return out;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; cause: unknown } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (cause) {
    return { ok: false, cause };
  }
}

/**
 * Go marshals the location config union as its concrete struct, without a tag,
 * or as a nested goa union. Recover `{type, value}` from either.
 */
function normaliseConfig(config: unknown): unknown {
  if (!isObject(config)) return config;
  if (typeof config.type === 'string' && config.value !== undefined) {
    if (typeof config.value !== 'string') return config;
    const inner = parseJson(config.value);
    return inner.ok ? { type: config.type, value: normalise(inner.value, 1) } : config;
  }
  const type =
    config.api_key !== undefined
      ? 'amss'
      : config.bucket !== undefined
        ? 's3'
        : config.address !== undefined
          ? 'sftp'
          : config.url !== undefined
            ? 'url'
            : undefined;
  return type === undefined ? config : { type, value: config };
}

/**
 * Recognises a legacy goa message and normalises it to `{type, value}`.
 * @returns `undefined` when `root` is not in the legacy encoding at all.
 */
export function fromLegacyGoa(root: Record<string, unknown>): LegacyResult | undefined {
  for (const unionKey of LEGACY_UNION_KEYS) {
    const union = root[unionKey];
    if (!isObject(union) || typeof union.Type !== 'string') continue;
    if (typeof union.Value !== 'string') {
      return { ok: false, path: `/${unionKey}/Value`, message: 'legacy goa union: "Value" must be a JSON string' };
    }
    const parsed = parseJson(union.Value);
    if (!parsed.ok) {
      return {
        ok: false,
        path: `/${unionKey}/Value`,
        message: 'legacy goa union: "Value" is not JSON',
        cause: parsed.cause,
      };
    }
    const value = normalise(parsed.value, 0);
    if (isObject(value) && isObject(value.item) && value.item.config !== undefined) {
      value.item.config = normaliseConfig(value.item.config);
    }
    return { ok: true, type: union.Type, value, unionKey };
  }
  return undefined;
}
