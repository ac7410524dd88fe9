import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { canonicalFixtures } from '../../test/fixtures/load.js';
import type { MonitorEvent, StorageMonitorEvent } from '../index.js';
import { eventLine } from './event-line.js';

type AnyEvent = MonitorEvent | StorageMonitorEvent;

/** The wire fixtures' events (every type, minimal and full), as plain objects to plant strings in. */
const events: AnyEvent[] = canonicalFixtures().map((f) => (JSON.parse(f.text) as { value: AnyEvent }).value);

/** Every path to a string inside an event's payload. */
function stringPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [path];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) =>
    stringPaths(child, [...path, Array.isArray(value) ? Number(key) : key]),
  );
}

/** A copy of `event` with the string at `path` (inside its payload) replaced by `text`. */
function planted(event: AnyEvent, path: (string | number)[], text: string): AnyEvent {
  const copy = structuredClone(event) as { value: Record<string | number, unknown> };
  let target: Record<string | number, unknown> = copy.value;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[path.at(-1) as string | number] = text;
  return copy as unknown as AnyEvent;
}

/** What a terminal acts on instead of showing: C0, DEL, C1, line/paragraph separators, bidi controls. */
const isTerminalControl = (c: number): boolean =>
  c <= 0x1f ||
  (c >= 0x7f && c <= 0x9f) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x061c ||
  c === 0x200e ||
  c === 0x200f ||
  (c >= 0x202a && c <= 0x202e) ||
  (c >= 0x2066 && c <= 0x2069);

const HOSTILE = [
  '\u001b[2J\u001b[31mred\u001b[0m', // clear screen, colour
  '\u001b]0;owned\u0007', // set the window title
  '\u009b31m', // CSI as one C1 character
  'ok\r\nsip_status_updated_event     sip 00000000-0000-0000-0000-000000000000 status=ingested', // a forged line
  'ok\roverwritten', // carriage return
  'a\u2028b\u2029c\u0085d', // Unicode line breaks and NEL
  '\u202eevil\u202c \u2066isolated\u2069 \u200fmark', // bidi overrides
  'del\u007f nul\u0000 bell\u0007 tab\t vt\u000b ff\u000c',
];

function assertOneVisibleLine(line: string, what: string): void {
  const control = [...line].find((char) => isTerminalControl(char.codePointAt(0) ?? 0));
  assert.equal(control, undefined, `${what}: ${JSON.stringify(line)}`);
}

describe('eventLine (tail readable output)', () => {
  test('hostile text in any string field of any event type stays on one line and shows as escapes', () => {
    let checked = 0;
    for (const event of events) {
      for (const path of stringPaths(event.value)) {
        for (const text of HOSTILE) {
          assertOneVisibleLine(eventLine(planted(event, path, text)), `${event.type} ${path.join('.')}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 1_000, `only ${checked} cases`);
  });

  test('escapes show what the text held', () => {
    const sip = events.find((e) => e.type === 'sip_created_event') as AnyEvent;
    const line = eventLine(planted(sip, ['item', 'name'], 'a\u001b[31mb\u009bc\u202ed\u2028e\u007f'));
    assert.match(line, /"a\\u001b\[31mb\\u009bc\\u202ed\\u2028e\\u007f"/);
    // An identifier that is not one is quoted, so it cannot pose as the fields after it.
    const posing = eventLine(planted(sip, ['uuid'], 'x status=ingested'));
    assert.match(posing, /sip "x status=ingested" /);
    // Ordinary text, accents and emoji included, is left as it is.
    assert.match(eventLine(planted(sip, ['item', 'name'], 'Fonds Émile 📦')), /"Fonds Émile 📦"/);
  });

  test('property: any string in a name or identifier gives one line free of terminal controls', () => {
    const targets = events.flatMap((event) =>
      stringPaths(event.value)
        .filter((path) => /name|uuid|identifier|message/.test(String(path.at(-1))))
        .map((path) => ({ event, path })),
    );
    fc.assert(
      fc.property(fc.constantFrom(...targets), fc.string({ unit: 'binary' }), ({ event, path }, text) => {
        assertOneVisibleLine(eventLine(planted(event, path, text)), `${event.type} ${path.join('.')}`);
      }),
      { numRuns: 2_000 },
    );
  });
});
