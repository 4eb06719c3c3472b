// The app's live parts: its viewers, the state pushed to it, and its windows.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  brokerSource,
  PlatformError,
  sessionSource,
  type BrokerStatus,
  type ClientView,
  type Platform,
  type SessionsOverview,
  type TrafficFrame,
} from './lib/platform';
import { sessionView } from './lib/session/testing.svelte';
import {
  click,
  counting,
  fakePlatform,
  frame,
  overviewOf,
  render,
  running,
  sensor,
  settle,
  text,
} from './app.testing';

describe('App viewer', () => {
  it('opens one viewer for the chosen source and closes the one before', async () => {
    const channels: ((frame: TrafficFrame) => void)[] = [];
    const trafficWatch = vi.fn<Platform['trafficWatch']>(async (source, onFrame) => {
      channels.push(onFrame);
      const viewer = channels.length;
      onFrame({ ...frame, viewer, source, messages: viewer * 100 });
      return viewer;
    });
    const trafficUnwatch = vi.fn<Platform['trafficUnwatch']>(async () => {});
    const { target, destroy } = render(
      fakePlatform({
        trafficWatch,
        trafficUnwatch,
        sessionList: async () => overviewOf(sessionView({ id: 's1', name: 'plant' })),
      }),
    );
    await settle();
    expect(trafficWatch).toHaveBeenCalledTimes(1);
    expect(trafficWatch.mock.calls[0]?.[0]).toEqual({ kind: 'broker' });
    expect(text(target, 'status-messages')).toBe('100 messages · 1 topics');
    expect(trafficUnwatch).not.toHaveBeenCalled();

    click(target, 'source-session');
    await settle();
    expect(trafficWatch).toHaveBeenCalledTimes(2);
    expect(trafficWatch.mock.calls[1]?.[0]).toEqual(sessionSource('s1'));
    expect(trafficUnwatch.mock.calls).toEqual([[1]]);
    expect(text(target, 'status-messages')).toBe('200 messages · 1 topics');

    // A late frame of the closed viewer, or one naming another viewer, is not shown.
    channels[0]!({ ...frame, viewer: 1, messages: 999 });
    channels[1]!({ ...frame, viewer: 7, messages: 777 });
    await settle();
    expect(text(target, 'status-messages')).toBe('200 messages · 1 topics');

    // The same source again: the viewer stays.
    click(target, 'source-session');
    await settle();
    expect(trafficWatch).toHaveBeenCalledTimes(2);

    destroy();
    await settle();
    expect(trafficUnwatch.mock.calls).toEqual([[1], [2]]);
  });

  it('closes a viewer the backend names only after the app left', async () => {
    let answer: (viewer: number) => void = () => {};
    const trafficUnwatch = vi.fn<Platform['trafficUnwatch']>(async () => {});
    const { destroy } = render(
      fakePlatform({
        trafficWatch: () => new Promise((resolve) => (answer = resolve)),
        trafficUnwatch,
      }),
    );
    await settle();
    destroy();
    await settle();
    expect(trafficUnwatch).not.toHaveBeenCalled();
    answer(4);
    await settle();
    expect(trafficUnwatch.mock.calls).toEqual([[4]]);
  });
});

describe('App pushed state', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('follows the broker, its clients and the sessions from events, with no timer', async () => {
    vi.useFakeTimers();
    let pushBroker: ((status: BrokerStatus) => void) | null = null;
    let pushClients: ((clients: ClientView[]) => void) | null = null;
    let pushSessions: ((overview: SessionsOverview) => void) | null = null;
    // What the backend holds: what it pushes and what it answers agree.
    let clientsNow = [sensor];
    let statusNow = running;
    const { platform, calls } = counting(
      fakePlatform({
        brokerStatus: async () => statusNow,
        brokerClients: async () => clientsNow,
        onBrokerChanged: async (listener) => {
          pushBroker = listener;
          return () => (pushBroker = null);
        },
        onClientsChanged: async (listener) => {
          pushClients = listener;
          return () => (pushClients = null);
        },
        onSessionsChanged: async (listener) => {
          pushSessions = listener;
          return () => (pushSessions = null);
        },
      }),
    );
    const { target, destroy } = render(platform);
    await settle();
    expect(vi.getTimerCount(), 'an idle app holds no timer').toBe(0);
    expect(text(target, 'status-broker')).toBe('Broker 127.0.0.1:1884');
    expect(target.querySelector('[data-testid="source-session"]')).toBeNull();

    pushSessions!(
      overviewOf(sessionView({ name: 'plant' }, { state: 'Connected', since: 0, resumed: false })),
    );
    await settle();
    expect(text(target, 'source-session')).toContain('plant');
    expect(text(target, 'status-sessions')).toBe('1/1 sessions connected');

    click(target, 'tab-broker');
    await settle();
    expect(target.querySelector('[data-testid="broker-clients"]')?.textContent).toContain(
      'sensor-<b>1</b>',
    );
    clientsNow = [{ ...sensor, clientId: 'dashboard' }];
    pushClients!(clientsNow);
    await settle();
    expect(target.querySelector('[data-testid="broker-clients"]')?.textContent).toContain(
      'dashboard',
    );
    statusNow = { ...running, running: false, address: null, clientsConnected: 0 };
    pushBroker!(statusNow);
    await settle();
    expect(text(target, 'status-broker')).toBe('Broker stopped');

    // Once what was pushed is followed up, nothing runs any more: no call, no timer.
    await vi.advanceTimersByTimeAsync(5_000);
    const before = calls();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(calls()).toBe(before);
    expect(vi.getTimerCount()).toBe(0);
    expect(text(target, 'status-broker')).toBe('Broker stopped');

    destroy();
    await settle();
    expect([pushBroker, pushClients, pushSessions], 'every event is let go').toEqual([
      null,
      null,
      null,
    ]);
  });

  it('ticks the clock only while a session counts down to a retry', async () => {
    vi.useFakeTimers();
    let pushSessions: ((overview: SessionsOverview) => void) | null = null;
    const { target, destroy } = render(
      fakePlatform({
        onSessionsChanged: async (listener) => {
          pushSessions = listener;
          return () => {};
        },
      }),
    );
    await settle();
    const retrying = sessionView(
      { name: 'plant' },
      {
        state: 'Reconnecting',
        at: Date.now() + 5_000,
        attempt: 2,
        code: 'Unreachable',
        reason: 'connection refused',
        answer: null,
      },
    );
    pushSessions!(overviewOf(retrying));
    await settle();
    const title = () =>
      target.querySelector('[data-testid="source-session"]')?.getAttribute('title') ?? '';
    expect(title()).toContain('Reconnecting in 5 s');
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(title()).toContain('Reconnecting in 3 s');

    pushSessions!(overviewOf({ ...retrying, state: { state: 'Connected', since: 0, resumed: false } }));
    await settle();
    expect(title()).toContain('Connected');
    expect(vi.getTimerCount(), 'no countdown, no clock').toBe(0);
    destroy();
  });
});

describe('App windows', () => {
  const plant = sessionView({ id: 'p1', name: 'plant' });
  const withPlant = {
    sessionList: async () => overviewOf(plant),
  };

  it('starts on the source its window was opened for, with a viewer of its own', async () => {
    const trafficWatch = vi.fn<Platform['trafficWatch']>(async (source, onFrame) => {
      onFrame({ ...frame, viewer: 7, source });
      return 7;
    });
    const { target, destroy } = render(
      fakePlatform({ ...withPlant, trafficWatch }),
      sessionSource('p1'),
    );
    await settle();
    expect(trafficWatch.mock.calls.map((call) => call[0])).toEqual([sessionSource('p1')]);
    const current = target.querySelector('[data-testid="source-session"]');
    expect(current?.getAttribute('aria-current')).toBe('true');
    expect(text(target, 'tab-broker')).toBe('Session');
    destroy();
  });

  it('opens the source it shows in a new window', async () => {
    const windowOpen = vi.fn<Platform['windowOpen']>(async () => {});
    const { target, destroy } = render(fakePlatform({ ...withPlant, windowOpen }));
    await settle();
    click(target, 'open-window');
    await settle();
    expect(windowOpen).toHaveBeenLastCalledWith(brokerSource, 'topics');
    click(target, 'source-session');
    click(target, 'tab-packets');
    await settle();
    click(target, 'open-window');
    await settle();
    // The new window starts on the view this one shows.
    expect(windowOpen).toHaveBeenLastCalledWith(sessionSource('p1'), 'packets');
    expect(windowOpen).toHaveBeenCalledTimes(2);
    expect(target.querySelector('[data-testid="open-window-error"]')).toBeNull();
    destroy();
  });

  it('says why a window could not open', async () => {
    const windowOpen = vi.fn<Platform['windowOpen']>(() =>
      Promise.reject(new PlatformError('NotFound', 'no session p1')),
    );
    const { target, destroy } = render(fakePlatform({ windowOpen }));
    await settle();
    click(target, 'open-window');
    await settle();
    expect(text(target, 'open-window-error')).toBe('no session p1');
    expect((target.querySelector('[data-testid="open-window"]') as HTMLButtonElement).disabled).toBe(
      false,
    );
    destroy();
  });
});

