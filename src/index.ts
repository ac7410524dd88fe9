// The public surface of Tidings: everything a user may import, named here.

export type { InMemoryEventServiceOptions } from './backends/memory/memory-event-service.js';
export { createInMemoryEventService } from './backends/memory/memory-event-service.js';
export { createNopEventService } from './backends/nop/nop-event-service.js';
export type { Codec, DecodeResult, TraceCarrier } from './core/codec.js';
export type { EventService, Gap, OverflowPolicy, SubscribeOptions, Subscription } from './core/contract.js';
export type { Logger } from './core/logger.js';
export { silentLogger } from './core/logger.js';
export { DEFAULT_BUFFER_SIZE } from './core/subscription.js';
export type { DecodeFailure } from './errors.js';
export {
  ConfigError,
  ConnectionError,
  DecodeError,
  NopSubscribeError,
  PublishError,
  ServiceClosedError,
  SlowConsumerError,
  TidingsError,
} from './errors.js';
