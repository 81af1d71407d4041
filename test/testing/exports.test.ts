import { describe, expect, it } from 'vitest';
import * as testing from '../../src/testing/index.js';

describe('resilient-socket/testing entry point', () => {
  it('exports exactly its public runtime API', () => {
    expect(Object.keys(testing).sort()).toEqual(['CHAOS_KINDS', 'FaultProxy', 'ProxyConnection', 'createFaultProxy', 'systemClock']);
  });
});
