/**
 * WebSocket-style events: the `on<type>` handler first, then the listeners in the order added
 * (functions or `handleEvent` objects); a throwing listener is reported like a browser reports
 * it and never stops the others.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompatEvents } from '../../src/client/compat-events.js';
import type { CompatEvent, CompatListener } from '../../src/client/compat-events.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

function target(): { onopen: CompatListener | null; onmessage: CompatListener | null; onclose: CompatListener | null; onerror: CompatListener | null } {
  return { onopen: null, onmessage: null, onclose: null, onerror: null };
}

describe('CompatEvents', () => {
  it('calls the handler, then the listeners in order, with the event and the target as this', () => {
    const t = target();
    const events = new CompatEvents(t);
    const calls: unknown[] = [];
    t.onmessage = function (this: unknown, e: CompatEvent) {
      calls.push(['handler', this === t, e.data, e.type, e.target === t]);
    };
    events.add('message', (e) => calls.push(['fn', e.data]));
    events.add('message', { handleEvent: (e) => calls.push(['object', e.data]) });
    events.add('message', 42 as never); // ignored, like a browser
    events.dispatch('message', { type: 'message', data: 'x' });
    expect(calls).toEqual([['handler', true, 'x', 'message', true], ['fn', 'x'], ['object', 'x']]);
  });

  it('does not call a listener added during the dispatch, and stops calling a removed one', () => {
    const events = new CompatEvents(target());
    const calls: string[] = [];
    const late = () => calls.push('late');
    const first = () => {
      calls.push('first');
      events.add('open', late);
    };
    events.add('open', first);
    events.dispatch('open', { type: 'open' });
    events.remove('open', first);
    events.dispatch('open', { type: 'open' });
    expect(calls).toEqual(['first', 'late']);
  });

  it('reports a throwing listener (reportError) and still calls the next ones', () => {
    const reported: unknown[] = [];
    vi.stubGlobal('reportError', (e: unknown) => reported.push(e));
    const t = target();
    const events = new CompatEvents(t);
    const boom = new Error('boom');
    const calls: string[] = [];
    t.onclose = () => {
      throw boom;
    };
    events.add('close', () => calls.push('after'));
    events.dispatch('close', { type: 'close' });
    expect(calls).toEqual(['after']);
    expect(reported).toEqual([boom]);
  });
});
