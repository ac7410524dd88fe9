import { runConformanceSuite } from '../../conformance/index.js';
import { createInMemoryEventService } from './memory-event-service.js';

runConformanceSuite<{ seq: number }>({
  name: 'in-memory',
  features: { crossInstance: false },
  connect: async () => createInMemoryEventService(),
  connectRetaining: async (_topic, maxEvents) => createInMemoryEventService({ history: { maxEvents } }),
  event: (seq) => ({ seq }),
  indexOf: (event) => event.seq,
});

runConformanceSuite<{ seq: number }>({
  name: 'in-memory without history',
  features: { crossInstance: false },
  connect: async () => createInMemoryEventService({ history: false }),
  event: (seq) => ({ seq }),
  indexOf: (event) => event.seq,
});
