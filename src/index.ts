// The public surface of Tidings: everything a user may import, named here.

export { checkAttributes, parseAttributes } from './auth/attributes.js';
export { chainAuthenticators } from './auth/chain.js';
export type { EventAccessTable, EventRequirement, EventTypeFilter } from './auth/event-access.js';
export { eventTypeFilter, MONITOR_EVENT_ACCESS } from './auth/event-access.js';
export type { OidcAuthenticatorOptions, OidcClaims } from './auth/oidc-authenticator.js';
export { OIDC_ALGORITHMS, OidcAuthenticator } from './auth/oidc-authenticator.js';
export type { TokenConfig } from './auth/static-tokens.js';
export { parseTokenList, presentedToken, TokenAuthenticator } from './auth/static-tokens.js';
export type {
  AbacConfig,
  Authenticator,
  AuthResult,
  OidcProviderConfig,
  Principal,
  StreamScope,
} from './auth/types.js';
export type {
  InMemoryEventServiceOptions,
  InMemoryHistoryOptions,
} from './backends/memory/memory-event-service.js';
export { createInMemoryEventService } from './backends/memory/memory-event-service.js';
export type { NatsEventService, NatsEventServiceOptions } from './backends/nats/nats-event-service.js';
export { createNatsEventService } from './backends/nats/nats-event-service.js';
export type {
  NatsStreamEventService,
  NatsStreamEventServiceOptions,
} from './backends/nats-stream/nats-stream-event-service.js';
export { createNatsStreamEventService } from './backends/nats-stream/nats-stream-event-service.js';
export { createNopEventService } from './backends/nop/nop-event-service.js';
export type { RedisEventService, RedisEventServiceOptions } from './backends/redis/redis-event-service.js';
export { createRedisEventService } from './backends/redis/redis-event-service.js';
export type {
  RedisStreamEventService,
  RedisStreamEventServiceOptions,
  StreamRetention,
} from './backends/redis-stream/redis-stream-event-service.js';
export { createRedisStreamEventService } from './backends/redis-stream/redis-stream-event-service.js';
export type { Bridge, BridgeJetStreamOptions, BridgeOptions, BridgeRole, BridgeStatus } from './bridge/bridge.js';
export { createBridge } from './bridge/bridge.js';
export type { BridgeHealthServer } from './bridge/bridge-health.js';
export { listenBridgeHealth } from './bridge/bridge-health.js';
export type { EnduroConfig, EnduroConfigSource, EnduroEventConfig } from './config/enduro-config.js';
export { loadEnduroConfig } from './config/enduro-config.js';
export type { Codec, DecodeResult, TraceCarrier, TraceContextDrop } from './core/codec.js';
export type {
  BackendState,
  BackendStatus,
  EventService,
  Gap,
  OverflowPolicy,
  Position,
  ReplayInfo,
  SubscribeOptions,
  Subscription,
} from './core/contract.js';
export type { Logger } from './core/logger.js';
export { boundedLogger, silentLogger } from './core/logger.js';
export { DEFAULT_BUFFER_SIZE } from './core/subscription.js';
export type { DecodeFailure, PositionProblem } from './errors.js';
export {
  AuthError,
  ConfigError,
  ConnectionError,
  DecodeError,
  NopSubscribeError,
  PositionError,
  PublishError,
  ReplayUnsupportedError,
  ServiceClosedError,
  SlowConsumerError,
  TidingsError,
} from './errors.js';
export type { DemoProducer, DemoProducerOptions } from './gateway/demo-producer.js';
export { startDemoProducer } from './gateway/demo-producer.js';
export type { Gateway, GatewayTuning, ListenOptions } from './gateway/gateway.js';
export type { MonitorGatewayOptions, MonitorStateRouteOptions } from './gateway/monitor-gateway.js';
export { createMonitorGateway } from './gateway/monitor-gateway.js';
export type { MonitorSnapshot } from './gateway/monitor-snapshot.js';
export type { PrometheusMetrics } from './gateway/prometheus-metrics.js';
export { createPrometheusMetrics } from './gateway/prometheus-metrics.js';
export type { ReplayWindowOptions } from './gateway/replay-window.js';
export { withReplayWindow } from './gateway/replay-window.js';
export type { SseMessage } from './gateway/sse-writer.js';
export { formatSseComment, formatSseMessage } from './gateway/sse-writer.js';
export { ingestCodec, storageCodec } from './monitor/codec.js';
export type {
  ActivityEntry,
  ActivityKind,
  AipView,
  AipWorkflowView,
  MonitorState,
  MonitorStateEvent,
  MonitorStateLimits,
  SipView,
  SipWorkflowView,
  WorkflowView,
} from './monitor/monitor-state.js';
export { emptyMonitorState, MONITOR_STATE_LIMITS, reduceMonitorState } from './monitor/monitor-state.js';
export type { NatsConfig } from './monitor/nats-services.js';
export {
  DEFAULT_INGEST_SUBJECT,
  DEFAULT_STORAGE_SUBJECT,
  newIngestEventServiceNats,
  newStorageEventServiceNats,
} from './monitor/nats-services.js';
export type { NatsStreamConfig } from './monitor/nats-stream-services.js';
export {
  newIngestEventServiceNatsStream,
  newStorageEventServiceNatsStream,
} from './monitor/nats-stream-services.js';
export {
  publishIngestEvent,
  publishIngestEventConfirmed,
  publishStorageEvent,
  publishStorageEventConfirmed,
} from './monitor/publish-helpers.js';
export type {
  LocationFieldView,
  RedactedLocation,
  RedactedLocationConfig,
  RedactedStorageMonitorEvent,
} from './monitor/redaction.js';
export {
  encodeRedactedStorageEvent,
  LOCATION_CONFIG_VIEW,
  redactStorageEvent,
} from './monitor/redaction.js';
export type { RedisConfig } from './monitor/redis-services.js';
export {
  DEFAULT_INGEST_CHANNEL,
  DEFAULT_STORAGE_CHANNEL,
  newIngestEventServiceRedis,
  newStorageEventServiceRedis,
} from './monitor/redis-services.js';
export type { RedisStreamConfig } from './monitor/redis-stream-services.js';
export {
  newIngestEventServiceRedisStream,
  newStorageEventServiceRedisStream,
} from './monitor/redis-stream-services.js';
export type {
  AIP,
  AIPCreatedEvent,
  AIPLocationUpdatedEvent,
  AIPStatus,
  AIPStatusUpdatedEvent,
  AIPTask,
  AIPUpdatedEvent,
  AIPWorkflow,
  AMSSConfig,
  Batch,
  BatchCreatedEvent,
  BatchStatus,
  BatchUpdatedEvent,
  IngestEventOf,
  IngestEventType,
  IngestPayload,
  Location,
  LocationConfig,
  LocationCreatedEvent,
  LocationUpdatedEvent,
  MonitorEvent,
  MonitorPingEvent,
  S3Config,
  SFTPConfig,
  SIP,
  SIPCreatedEvent,
  SIPStatus,
  SIPStatusUpdatedEvent,
  SIPTask,
  SIPTaskCreatedEvent,
  SIPTaskUpdatedEvent,
  SIPUpdatedEvent,
  SIPWorkflow,
  SIPWorkflowCreatedEvent,
  SIPWorkflowUpdatedEvent,
  StorageEventOf,
  StorageEventType,
  StorageMonitorEvent,
  StorageMonitorPingEvent,
  StoragePayload,
  TaskCreatedEvent,
  TaskUpdatedEvent,
  URLConfig,
  WorkflowCreatedEvent,
  WorkflowUpdatedEvent,
} from './monitor/schemas.js';
export {
  AIPSchema,
  AIPTaskSchema,
  AIPWorkflowSchema,
  BatchSchema,
  INGEST_EVENT_TYPES,
  ingestPayloadSchemas,
  LocationSchema,
  SIPSchema,
  SIPTaskSchema,
  SIPWorkflowSchema,
  STORAGE_EVENT_TYPES,
  storagePayloadSchemas,
} from './monitor/schemas.js';
export type {
  IngestEventService,
  IngestSubscription,
  StorageEventService,
  StorageSubscription,
} from './monitor/services.js';
export {
  newIngestEventServiceInMem,
  newStorageEventServiceInMem,
  nopIngestEventService,
  nopStorageEventService,
} from './monitor/services.js';
export { traceContextOf } from './observability/event-trace.js';
export type { TelemetryCounts, TelemetryOptions } from './observability/instrumentation.js';
export { traceFromHeaders, traceHeaders } from './observability/nats-trace-headers.js';
