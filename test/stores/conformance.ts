/**
 * The store conformance suite: the same tests run against every `Store` adapter, so the memory
 * and Redis stores provably behave alike. Call it from a test file:
 *
 *   storeConformance('MemoryStore', ({ now }) => new MemoryStore({ now }), { sharedAcrossInstances: false });
 */
import { describe } from 'vitest';
import type { ConformanceOptions, StoreMaker } from './conformance-context.js';
import { useWorld } from './conformance-context.js';
import { sessionTests } from './conformance-sessions.js';
import { streamTests } from './conformance-streams.js';
import { stateTests } from './conformance-state.js';
import { propertyTests } from './conformance-properties.js';

export type { ConformanceOptions, StoreMaker, StoreMakerContext } from './conformance-context.js';

/** Registers the whole conformance suite for the adapter that `makeStore` builds. */
export function storeConformance(name: string, makeStore: StoreMaker, options: ConformanceOptions): void {
  describe(`${name} conformance`, () => {
    const world = useWorld(makeStore, options);
    sessionTests(world);
    streamTests(world);
    stateTests(world);
    propertyTests(world, options.propertyRuns ?? 25);
  });
}
