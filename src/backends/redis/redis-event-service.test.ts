import { startRedisServer } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { runConformanceSuite } from '../../conformance/index.js';
import { createRedisEventService } from './redis-event-service.js';

const redis = await startRedisServer();

runConformanceSuite<SeqEvent>({
  name: 'redis',
  features: { crossInstance: true },
  connect: async (topic) => createRedisEventService({ redisAddress: redis.url, redisChannel: topic, codec: seqCodec }),
  event: (seq) => ({ seq }),
  indexOf: (event) => event.seq,
  teardown: () => redis.stop(),
});
