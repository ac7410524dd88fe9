import { startNatsServer } from '../../../test/support/nats-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { runConformanceSuite } from '../../conformance/index.js';
import { createNatsStreamEventService } from './nats-stream-event-service.js';

const nats = await startNatsServer({ jetstream: true });

runConformanceSuite<SeqEvent>({
  name: 'nats jetstream',
  features: { crossInstance: true },
  connect: async (topic) => createNatsStreamEventService({ natsAddress: nats.url, subject: topic, codec: seqCodec }),
  connectRetaining: async (topic, maxEvents) =>
    createNatsStreamEventService({
      natsAddress: nats.url,
      subject: topic,
      codec: seqCodec,
      maxEvents,
    }),
  event: (seq) => ({ seq }),
  indexOf: (event) => event.seq,
  teardown: () => nats.close(),
});
