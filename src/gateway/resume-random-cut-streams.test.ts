// Random-cut resume over Redis Streams (the stream's own history); see test/support/random-cut.ts.
import { randomCutRuns } from '../../test/support/random-cut.js';
import { newIngestEventServiceRedisStream } from '../monitor/redis-stream-services.js';

randomCutRuns({
  name: 'redis-streams',
  redis: true,
  expectReplay: true,
  open: (redisAddress, streamKey) => ({
    ingest: newIngestEventServiceRedisStream(undefined, undefined, { redisAddress, streamKey }),
    producer: newIngestEventServiceRedisStream(undefined, undefined, { redisAddress, streamKey }),
  }),
});
