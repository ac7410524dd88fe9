/**
 * Decode benchmark: `ingestCodec.decode` (parse + compiled validation +
 * canonical copy) of a typical `sip_updated_event` against bare `JSON.parse`
 * of the same text, in one run.
 *
 *   npm run bench:decode
 *
 * Both run in this process, interleaved in rounds so that neither enjoys a
 * warmer JIT or a quieter machine; each round is timed for ROUND_MS and the
 * median of the rounds is reported with its spread. Target: decode at least
 * 50% of JSON.parse.
 */
import { ingestCodec } from '../src/monitor/codec.js';
import {
  describeLoad,
  describeSetup,
  int,
  interleaved,
  median,
  percent,
  roundsOption,
  spreadOf,
  table,
  Verdicts,
  watchLoad,
} from './harness.js';

const ROUNDS = roundsOption(7);
const ROUND_MS = 300;

const message = JSON.stringify({
  value: {
    type: 'sip_updated_event',
    value: {
      uuid: '0d9e2d4f-4f5e-4c1b-9a51-1c2f7f3a9b10',
      item: {
        uuid: '0d9e2d4f-4f5e-4c1b-9a51-1c2f7f3a9b10',
        name: 'accession-2024-0187.zip',
        aip_uuid: '7c1f0a3e-2b6d-4e8f-9a0b-3c4d5e6f7a8b',
        status: 'processing',
        file_count: 1342,
        created_at: '2024-05-13T09:21:44.118233Z',
        started_at: '2024-05-13T09:21:45.902117304Z',
        uploader_uuid: '5a1b2c3d-4e5f-4061-8a9b-0c1d2e3f4a5b',
        uploader_email: 'archivist@example.org',
        uploader_name: 'Ada Archivist',
        batch_uuid: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
        batch_identifier: 'batch-2024-05-13',
        batch_status: 'processing',
      },
    },
  },
});

// Keeps results alive so the JIT cannot drop the work.
let sink = 0;

function timeRound(fn: () => void): number {
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1_000; i++) fn();
    ops += 1_000;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

type Candidate = 'JSON.parse' | 'ingestCodec.decode';
const candidates: Record<Candidate, () => void> = {
  'JSON.parse': () => {
    const v = JSON.parse(message) as { value: unknown };
    if (v.value !== undefined) sink++;
  },
  'ingestCodec.decode': () => {
    const r = ingestCodec.decode(message);
    if (r.ok) sink++;
    else throw r.error;
  },
};
const LABEL: Record<Candidate, string> = {
  'JSON.parse': '`JSON.parse`',
  'ingestCodec.decode': '`ingestCodec.decode` (parse, compiled validation, canonical copy)',
};
const names = Object.keys(candidates) as Candidate[];

console.log(describeSetup('Tidings decode benchmark'));
const load = watchLoad();
for (const fn of Object.values(candidates)) timeRound(fn); // warm-up
const samples = await interleaved(ROUNDS, names, async (name) => timeRound(candidates[name]));
// A ratio per round (both timed in it), so the spread of the ratio is the rounds' own.
const ratios = samples.get('ingestCodec.decode')!.map((ops, round) => ops / samples.get('JSON.parse')![round]!);

console.log(
  `\nmessage: sip_updated_event, ${message.length} bytes; median (min–max) of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms\n`,
);
console.log(
  table(
    [`${message.length}-byte \`sip_updated_event\``, 'ops/s', 'vs `JSON.parse` (same round)'],
    names.map((name) => [
      LABEL[name],
      spreadOf(samples.get(name)!, int),
      name === 'JSON.parse' ? '100%' : spreadOf(ratios, percent),
    ]),
  ),
);
console.log(`\n${describeLoad(load.stop())}`);
const verdicts = new Verdicts();
const decodeRatio = median(ratios);
verdicts.check('decode ≥ 50% of JSON.parse (median of rounds)', percent(decodeRatio), decodeRatio >= 0.5);
verdicts.print();
if (sink === 0) console.log('(no work done)');
