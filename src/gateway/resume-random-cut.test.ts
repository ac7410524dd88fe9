// Random-cut resume over the in-memory backend (its own history) and Redis
// pub/sub (the gateway's window); see test/support/random-cut.ts.
import { randomCutRuns } from '../../test/support/random-cut.js';
import { newIngestEventServiceRedis } from '../monitor/redis-services.js';
import { newIngestEventServiceInMem } from '../monitor/services.js';

randomCutRuns({
  name: 'in-memory',
  redis: false,
  expectReplay: true,
  open: () => {
    const ingest = newIngestEventServiceInMem();
    return { ingest, producer: ingest };
  },
});

randomCutRuns({
  name: 'redis-pubsub (gateway window)',
  redis: true,
  expectReplay: false,
  open: (redisAddress, redisChannel) => ({
    ingest: newIngestEventServiceRedis(undefined, undefined, { redisAddress, redisChannel }),
    producer: newIngestEventServiceRedis(undefined, undefined, { redisAddress, redisChannel }),
  }),
});
