import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import fc from 'fast-check';
import { dateTimeArb } from '../../test/fixtures/arbitrary.js';
import { isDateTime, isUuid } from './formats.js';

const ajvDateTime = fullFormats['date-time'] as { validate: (s: string) => boolean };
const ajvUuid = fullFormats.uuid as RegExp;

// Strings near the date-time grammar, where the two implementations could differ.
const dateTimeLike = fc
  .array(fc.constantFrom(...'0123456789-:.TtZz+ \u00a0'.split(''), '23:59:60', '2024-02-29', '2023-02-29', '-00:00'), {
    maxLength: 40,
  })
  .map((parts) => parts.join(''));

test('isDateTime agrees with ajv-formats (the contract judge)', () => {
  const edge = [
    '2024-05-13T09:21:45.902117304Z',
    '2024-05-13t09:21:45z',
    '2024-05-13 09:21:45+02:00',
    '2024-05-13T09:21:45+0200',
    '2024-05-13T09:21:45+02',
    '2024-05-13T09:21:45',
    '2016-12-31T23:59:60Z',
    '2016-12-31T22:59:60-01:00',
    '2024-02-29T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-05-13T24:00:00Z',
    '2024-05-13T09:21:45.Z',
  ];
  for (const s of edge) assert.equal(isDateTime(s), ajvDateTime.validate(s), s);
  fc.assert(
    fc.property(fc.oneof(dateTimeArb, dateTimeLike, fc.string()), (s) => {
      assert.equal(isDateTime(s), ajvDateTime.validate(s), s);
    }),
    { numRuns: 20_000 },
  );
});

test('isUuid agrees with ajv-formats', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uuid(),
        fc.string(),
        fc.uuid().map((u) => `urn:uuid:${u.toUpperCase()}`),
      ),
      (s) => {
        assert.equal(isUuid(s), ajvUuid.test(s), s);
      },
    ),
  );
});
