import { startNatsServer } from '../../../test/support/nats-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { runConformanceSuite } from '../../conformance/index.js';
import { createNatsEventService } from './nats-event-service.js';

const nats = await startNatsServer({ jetstream: false });

runConformanceSuite<SeqEvent>({
  name: 'core NATS',
  features: { crossInstance: true },
  connect: async (topic) => createNatsEventService({ natsAddress: nats.url, subject: topic, codec: seqCodec }),
  event: (seq) => ({ seq }),
  indexOf: (event) => event.seq,
  teardown: () => nats.close(),
});
