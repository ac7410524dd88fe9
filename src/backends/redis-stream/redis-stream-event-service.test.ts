import { startRedisServer } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { runConformanceSuite } from '../../conformance/index.js';
import { createRedisStreamEventService } from './redis-stream-event-service.js';

const redis = await startRedisServer();

runConformanceSuite<SeqEvent>({
  name: 'redis-stream',
  features: { crossInstance: true },
  connect: async (topic) =>
    createRedisStreamEventService({ redisAddress: redis.url, streamKey: topic, codec: seqCodec }),
  connectRetaining: async (topic, maxEvents) =>
    createRedisStreamEventService({
      redisAddress: redis.url,
      streamKey: topic,
      codec: seqCodec,
      retention: { maxLen: maxEvents, exact: true },
    }),
  event: (seq) => ({ seq }),
  indexOf: (event) => event.seq,
  teardown: () => redis.stop(),
});
