import { runConformanceSuite } from '../../conformance/index.js';
import { createInMemoryEventService } from './memory-event-service.js';

runConformanceSuite<{ seq: number }>({
  name: 'in-memory',
  features: { crossInstance: false },
  connect: async () => createInMemoryEventService(),
  event: (seq) => ({ seq }),
  indexOf: (event) => event.seq,
});
