import { describe, expect, it, vi } from 'vitest';
import { mount, unmount } from 'svelte';
import RoutingView from './RoutingView.svelte';
import type { RoutedMessage, RoutingExplanation, Teach } from '../platform/teach';
import { reactiveProps, settle } from '../session/testing.svelte';

const message: RoutedMessage = {
  serial: 3, timeMs: 0, topic: 'room/1', qos: 1, retain: false, payloadLen: 2, origin: 'Client',
  publisher: 'pub', receivers: [{ clientId: 'a', qos: 1, sent: true }], more: 0,
};
const explanation: RoutingExplanation = {
  message,
  lines: [
    { clientId: 'a', connected: true, outcome: 'Delivered', filters: ['room/+'], qos: 1, retain: false, group: null, member: null },
    { clientId: 'c', connected: true, outcome: 'NoMatchingFilter', filters: [], qos: null, retain: null, group: null, member: null },
  ],
};

describe('RoutingView', () => {
  it('explains a message and answers why a client did not get it', async () => {
    const teach = {
      routed: vi.fn(async () => ({ messages: [message], latest: 3, skipped: 0 })),
      explain: vi.fn(async () => explanation),
      whyNot: vi.fn(async () => [{ message, lines: [explanation.lines[1]!] }]),
    } as unknown as Teach;
    const props = reactiveProps({ teach, packets: 1, selected: null, whyNotFor: 'c' });
    const target = document.createElement('div');
    document.body.append(target);
    const view = mount(RoutingView, { target, props });
    await settle();
    expect(target.querySelector("[data-testid='why-not']")?.textContent).toContain(
      'none of its subscriptions matches the topic',
    );
    (target.querySelector("[data-testid='routing-explain']") as HTMLButtonElement).click();
    await settle();
    expect(teach.explain).toHaveBeenCalledWith(3);
    const table = target.querySelector("[data-testid='routing-explanation']")?.textContent ?? '';
    expect(table).toContain('its filter room/+ matched; effective QoS 1 = min(published 1, subscribed)');
    unmount(view);
    target.remove();
  });
});

import TeachView from './TeachView.svelte';
import { brokerSource, type Platform } from '../platform';

describe('TeachView', () => {
  it('explains a message after "why didn’t it get it?"', async () => {
    const teach = {
      routed: vi.fn(async () => ({ messages: [message], latest: 3, skipped: 0 })),
      explain: vi.fn(async () => explanation),
      whyNot: vi.fn(async () => [{ message, lines: [explanation.lines[1]!] }]),
      sequence: vi.fn(async () => ({ rows: [], notes: [], oldestKept: 1, total: 0, clients: ['c'] })),
    } as unknown as Teach;
    const platform = { kind: 'tauri' } as unknown as Platform;
    const props = reactiveProps({ platform, source: brokerSource, packets: 1, clients: [], teachWith: teach });
    const target = document.createElement('div');
    document.body.append(target);
    const view = mount(TeachView, { target, props });
    await settle();
    (target.querySelector("[data-testid='teach-tab-routing']") as HTMLButtonElement).click();
    await settle();
    (target.querySelector("[data-testid='why-not-client']") as HTMLInputElement).value = 'c';
    (target.querySelector("[data-testid='why-not-client']") as HTMLInputElement).dispatchEvent(new Event('input', { bubbles: true }));
    (target.querySelector("[data-testid='why-not-ask']") as HTMLButtonElement).click();
    await settle();
    expect(target.querySelector("[data-testid='why-not']")).not.toBeNull();
    (target.querySelector("[data-testid='routing-explain']") as HTMLButtonElement).click();
    await settle();
    expect(teach.explain).toHaveBeenCalledWith(3);
    expect(target.querySelector("[data-testid='routing-explanation']")).not.toBeNull();
    unmount(view);
    target.remove();
  });
});

describe('TeachView of a proxy', () => {
  it('draws the live map from the proxy’s own log, and keeps routing explained for the broker', async () => {
    const teach = {
      routed: vi.fn(async () => ({ messages: [], latest: 0, skipped: 0 })),
      routedOf: vi.fn(async () => ({ messages: [message], latest: 3, skipped: 0 })),
      explain: vi.fn(async () => explanation),
      whyNot: vi.fn(async () => []),
      sequence: vi.fn(async () => ({ rows: [], notes: [], oldestKept: 1, total: 0, clients: [] })),
    } as unknown as Teach;
    const platform = { kind: 'tauri' } as unknown as Platform;
    const source = { kind: 'proxy', id: '1884' } as const;
    const props = reactiveProps({ platform, source, packets: 1, clients: [], teachWith: teach });
    const target = document.createElement('div');
    document.body.append(target);
    const view = mount(TeachView, { target, props });
    await settle();
    (target.querySelector("[data-testid='teach-tab-map']") as HTMLButtonElement).click();
    await settle();
    expect(target.textContent).not.toContain('The live map shows the embedded broker');
    expect(teach.routedOf).toHaveBeenCalledWith(source, expect.any(Number), expect.any(Number));
    expect(teach.routed).not.toHaveBeenCalled();
    (target.querySelector("[data-testid='teach-tab-routing']") as HTMLButtonElement).click();
    await settle();
    expect(target.textContent).toContain('routing explained, the embedded broker');
    unmount(view);
    target.remove();
  });
});
