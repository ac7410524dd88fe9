import { FormatRegistry } from '@sinclair/typebox';

// The contract is judged by a standard JSON Schema validator (Ajv with
// ajv-formats in its default "full" mode). These checks reproduce those
// semantics exactly, so that the compiled validator accepts what the contract
// accepts; `formats.test.ts` holds them against ajv-formats.

const DATE = /^(\d\d\d\d)-(\d\d)-(\d\d)$/;
const TIME = /^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(z|([+-])(\d\d)(?::?(\d\d))?)?$/i;
const DATE_TIME_SEPARATOR = /t|\s/i;
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const UUID = /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function isFullDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  return month >= 1 && month <= 12 && day >= 1 && day <= (month === 2 && isLeapYear(year) ? 29 : DAYS[month]!);
}

function isTimeWithZone(text: string): boolean {
  const m = TIME.exec(text);
  if (!m) return false;
  const hr = +m[1]!;
  const min = +m[2]!;
  const sec = +m[3]!;
  const tz = m[4];
  const tzSign = m[5] === '-' ? -1 : 1;
  const tzH = +(m[6] || 0);
  const tzM = +(m[7] || 0);
  if (tzH > 23 || tzM > 59 || !tz) return false;
  if (hr <= 23 && min <= 59 && sec < 60) return true;
  // A leap second is valid only at 23:59:60 UTC.
  const utcMin = min - tzM * tzSign;
  const utcHr = hr - tzH * tzSign - (utcMin < 0 ? 1 : 0);
  return (utcHr === 23 || utcHr === -1) && (utcMin === 59 || utcMin === -1) && sec < 61;
}

function digits(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

// The shape every producer actually sends, `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`,
// checked without regular expressions: decode validates several date-times
// per message, and this is most of the validator's cost otherwise.
// Returns false when unsure; the caller then applies the general rules.
function isCommonDateTime(text: string): boolean {
  const len = text.length;
  if (len < 20 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84) return false;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return false;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hr = digits(text, 11, 2);
  const min = digits(text, 14, 2);
  const sec = digits(text, 17, 2);
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hr < 0 ||
    hr > 23 ||
    min < 0 ||
    min > 59 ||
    sec < 0 ||
    sec > 59
  ) {
    return false;
  }
  if (day > (month === 2 && isLeapYear(year) ? 29 : DAYS[month]!)) return false;
  let i = 19;
  if (text.charCodeAt(i) === 46) {
    i++;
    const start = i;
    while (i < len && digits(text, i, 1) >= 0) i++;
    if (i === start) return false;
  }
  const zone = text.charCodeAt(i);
  if (zone === 90) return i + 1 === len;
  if ((zone !== 43 && zone !== 45) || i + 6 !== len || text.charCodeAt(i + 3) !== 58) return false;
  const tzH = digits(text, i + 1, 2);
  const tzM = digits(text, i + 4, 2);
  return tzH >= 0 && tzH <= 23 && tzM >= 0 && tzM <= 59;
}

/** RFC 3339 `date-time` with a mandatory offset, as JSON Schema's `date-time` format. */
export function isDateTime(text: string): boolean {
  if (isCommonDateTime(text)) return true;
  const parts = text.split(DATE_TIME_SEPARATOR);
  return parts.length === 2 && isFullDate(parts[0]!) && isTimeWithZone(parts[1]!);
}

/** RFC 4122 textual UUID (any version, either case, optional `urn:uuid:` prefix). */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/** Smallest and largest values of the contract's `int32` format. */
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

let registered = false;

/**
 * Registers the contract's string formats with TypeBox, once. Must run before
 * a schema using them is compiled; the validator module calls it at load.
 */
export function registerFormats(): void {
  if (registered) return;
  registered = true;
  FormatRegistry.Set('date-time', isDateTime);
  FormatRegistry.Set('uuid', isUuid);
}
