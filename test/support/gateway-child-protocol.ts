// What test/support/gateway-child.ts and the test driving it say to each other.

/** What the child reports on 'status'. */
export interface GatewayChildStatus {
  readonly kind: 'status';
  readonly openStreams: number;
  /** Streams the gateway ended as too slow. */
  readonly slowClients: number;
  /** Times the Redis subscriber connection was reopened. */
  readonly reconnects: number;
  /** Warnings logged by the Redis service (a lost subscriber connection logs one). */
  readonly redisWarnings: readonly string[];
  /** `process.memoryUsage()`, after a full collection when asked for 'memory' (and run with `--expose-gc`). */
  readonly memory: NodeJS.MemoryUsage;
  /** Peak resident set size of the process so far, in bytes. */
  readonly maxRss: number;
  /** Longest the event loop was blocked since the previous report, in ms. */
  readonly loopDelayMaxMs: number;
}

/** What the child sends its parent. */
export type GatewayChildReport = { readonly kind: 'listening'; readonly url: string } | GatewayChildStatus;

/** The token the child's gateway accepts. */
export const GATEWAY_CHILD_TOKEN = 'gateway-child-token';
