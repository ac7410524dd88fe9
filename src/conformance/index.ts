import { after, describe } from 'node:test';
import { concurrencyCases } from './concurrency.js';
import { deliveryCases } from './delivery.js';
import type { ConformanceHarness } from './harness.js';
import { lifecycleCases } from './lifecycle.js';
import { overflowCases } from './overflow.js';
import { replayCases } from './replay.js';
import { resourceCases } from './resources.js';
import { statusCases } from './status.js';

export type { BackendFeatures, ConformanceHarness } from './harness.js';

/**
 * Registers the shared backend conformance suite (node:test) for one backend.
 * It is the executable specification of {@link EventService}: every case is
 * one guarantee of the contract.
 *
 * @example
 * ```ts
 * runConformanceSuite({
 *   name: 'in-memory',
 *   features: { crossInstance: false },
 *   connect: async () => createInMemoryEventService<number>(),
 *   event: (i) => i,
 *   indexOf: (n) => n,
 * });
 * ```
 */
export function runConformanceSuite<T>(harness: ConformanceHarness<T>): void {
  describe(`conformance: ${harness.name}`, () => {
    describe('delivery', () => deliveryCases(harness));
    describe('lifecycle', () => lifecycleCases(harness));
    describe('overflow', () => overflowCases(harness));
    describe('concurrency', () => concurrencyCases(harness));
    describe('resources', () => resourceCases(harness));
    describe('status', () => statusCases(harness));
    describe('replay', () => replayCases(harness));
    if (harness.teardown) after(harness.teardown);
  });
}
