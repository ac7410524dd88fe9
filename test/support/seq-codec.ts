import type { Codec } from '../../src/core/codec.js';
import { DecodeError } from '../../src/errors.js';

/** The conformance suite's event: a sequence number. */
export interface SeqEvent {
  seq: number;
  /** Filler, to give messages a realistic size. */
  pad?: string;
}

/** A minimal JSON codec for {@link SeqEvent}, so backend tests don't depend on the monitor catalogue. */
export const seqCodec: Codec<SeqEvent> = {
  encode: (event) => JSON.stringify(event),
  decode: (text) => {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && typeof (value as SeqEvent).seq === 'number') {
        const { seq, pad } = value as SeqEvent;
        return { ok: true, event: pad === undefined ? { seq } : { seq, pad } };
      }
      return { ok: false, error: new DecodeError('invalid-payload', 'no numeric seq', { path: '/seq' }) };
    } catch (cause) {
      return { ok: false, error: new DecodeError('not-json', 'not JSON', { cause }) };
    }
  },
};
