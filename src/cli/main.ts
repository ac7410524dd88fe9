#!/usr/bin/env node
// Interim entry point: a short in-memory demo. The gateway and CLI replace it.
import { createInMemoryEventService } from '../index.js';

interface Tick {
  seq: number;
  at: string;
}

const events = createInMemoryEventService<Tick>();
const sub = await events.subscribe();
for (let seq = 1; seq <= 5; seq++) events.publish({ seq, at: new Date().toISOString() });
for await (const tick of sub) {
  console.log(`event ${tick.seq} at ${tick.at}`);
  if (sub.pending === 0) break;
}
await events.close();
