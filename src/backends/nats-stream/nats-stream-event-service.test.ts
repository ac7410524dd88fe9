import { startNatsServer } from '../../../test/support/nats-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { runConformanceSuite } from '../../conformance/index.js';
import { createNatsStreamEventService } from './nats-stream-event-service.js';

/** See `connectRetaining`. */
const RETAINING_FLOOR = 500;

const nats = await startNatsServer({ jetstream: true });

runConformanceSuite<SeqEvent>({
  name: 'nats jetstream',
  features: { crossInstance: true },
  connect: async (topic) => createNatsStreamEventService({ natsAddress: nats.url, subject: topic, codec: seqCodec }),
  // The suite fills this stream with a burst of 1,000 fire-and-forget publishes read back by a live
  // subscription. A stream limited by count drops what its consumers have not read yet, so a live reader
  // more than `maxEvents` behind the burst would see an `expired` gap the suite does not expect: the
  // stream keeps at least 500 (still well short of the burst, so the old positions do expire).
  connectRetaining: async (topic, maxEvents) =>
    createNatsStreamEventService({
      natsAddress: nats.url,
      subject: topic,
      codec: seqCodec,
      maxEvents: Math.max(maxEvents, RETAINING_FLOOR),
    }),
  event: (seq) => ({ seq }),
  indexOf: (event) => event.seq,
  teardown: () => nats.close(),
});
