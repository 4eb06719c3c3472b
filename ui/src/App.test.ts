import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import App from './App.svelte';
import {
  brokerSource,
  PlatformError,
  sessionSource,
  type AppInfo,
  type BrokerStatus,
  type ClientView,
  type Platform,
  type SessionsOverview,
  type SourceId,
  type TrafficFrame,
} from './lib/platform';
import { sessionView } from './lib/session/testing.svelte';
import { defaultLimits } from './lib/broker/test-fixtures';

const info: AppInfo = {
  name: 'MQTT Workbench',
  version: '9.8.7',
  tauriVersion: '2.0.0',
  os: 'linux',
  arch: 'x86_64',
};

const running: BrokerStatus = {
  running: true,
  address: '127.0.0.1:1884',
  listeners: ['mqtt://127.0.0.1:1884'],
  exposed: false,
  settings: {
    bind: '127.0.0.1',
    port: 1883,
    websocketPort: null,
    tls: null,
    maxPacketSize: 16 * 1024 * 1024,
    usernames: [],
    limits: defaultLimits,
  },
  clientsConnected: 1,
  retainedMessages: 2,
  lastError: null,
  note: null,
};

const sensor: ClientView = {
  clientId: 'sensor-<b>1</b>',
  remote: '127.0.0.1:50000',
  protocol: '5.0',
  keepAlive: 60,
  cleanSession: true,
  connectedAtMs: Date.now() - 5000,
  subscriptions: [{ filter: 'cmd/#', qos: 1 }],
  publishReceived: 3,
  publishSent: 0,
  bytesReceived: 300,
  bytesSent: 0,
  droppedQos0: 0,
  droppedQos12: 0,
  queued: 0,
};

const row = {
  id: 3,
  depth: 2,
  name: '<script>alert(1)</script>',
  topic: 'home/<script>alert(1)</script>',
  ownCount: 4,
  subtreeCount: 4,
  hasChildren: false,
  expanded: false,
  retained: true,
  lastTimeMs: 0,
  rate: 2,
  preview: '{"t":21.5}',
  payloadLen: 10,
};

const frame: TrafficFrame = {
  viewer: 1,
  source: brokerSource,
  rows: [row],
  rowCount: 1,
  from: 0,
  topics: 1,
  messages: 4,
  rateIn: 2,
  rateOut: 0,
  historyBytes: 1000,
  packets: 10,
  dropped: 0,
  topicsNotShown: 0,
  messagesNotShown: 0,
};

function fakePlatform(overrides: Partial<Platform> = {}): Platform {
  return {
    kind: 'tauri',
    appInfo: async () => info,
    brokerStatus: async () => running,
    brokerStart: async () => running,
    brokerStop: async () => ({ ...running, running: false, address: null, clientsConnected: 0 }),
    brokerClients: async () => [sensor],
    onBrokerChanged: async () => () => {},
    onClientsChanged: async () => () => {},
    onSessionsChanged: async () => () => {},
    trafficWatch: async (_source, onFrame) => {
      onFrame(frame);
      return frame.viewer;
    },
    trafficUnwatch: async () => {},
    trafficView: async () => {},
    trafficExpand: async () => {},
    trafficExpandAll: async () => {},
    trafficClear: async () => {},
    trafficDeleteRetained: async () => 1,
    trafficPackets: async () => ({
      total: 12,
      rows: [
        {
          timeMs: Date.now(),
          direction: 'Inbound' as const,
          clientId: '<i>sensor</i>',
          remote: '127.0.0.1:5000',
          kind: 'Publish' as const,
          packetId: 7,
          qos: 1,
          retain: false,
          dup: false,
          topic: 'home/temp',
          payloadLen: 4,
          size: 17,
          reason: null,
          fields: [{ name: "Content Type", value: "<b>text</b>" }],
        },
      ],
    }),
    trafficNotices: async () => [
      {
        timeMs: Date.now(),
        kind: 'Refused' as const,
        clientId: 'dev',
        remote: '127.0.0.1:5000',
        detail: "wrong username or password for user 'dev'",
      },
    ],
    trafficMessages: async () => [
      {
        timeMs: Date.now(),
        qos: 1,
        retain: false,
        payload: new TextEncoder().encode('{"t":21.5,"html":"<img src=x onerror=alert(1)>"}'),
        properties: [{ name: 'User Property', value: '<b>unit</b> = °C' }],
      },
    ],
    trafficChart: async () => '<svg xmlns="http://www.w3.org/2000/svg"></svg>',
    trafficExportPackets: async () => ({ path: '/tmp/mqtt-packets-broker.jsonl', packets: 12 }),
    trafficValueChart: async () => ({
      svg: '<svg xmlns="http://www.w3.org/2000/svg"></svg>',
      points: 1,
      skipped: 0,
    }),
    saveToDownloads: async (name) => `/tmp/${name}`,
    sessionList: async () => ({
      sessions: [],
      passwordStorage: 'SessionOnly' as const,
      passwordNote: 'no OS keychain answered',
      profilesFile: '/tmp/profiles.json',
      warning: null,
    }),
    sessionSave: unused,
    sessionDelete: unused,
    sessionConnect: unused,
    sessionDisconnect: unused,
    sessionSubscribe: unused,
    sessionUnsubscribe: unused,
    sessionPublish: unused,
    sessionParseUrl: unused,
    sessionCheckPayload: unused,
    windowOpen: unused,
    ...overrides,
  };
}

function unused(): Promise<never> {
  return Promise.reject(new Error('not used by this test'));
}

function render(platform: Platform, initialSource?: SourceId) {
  const target = document.createElement('div');
  document.body.append(target);
  const app = mount(App, { target, props: { platform, initialSource } });
  return {
    target,
    destroy: () => {
      unmount(app);
      target.remove();
    },
  };
}

async function settle() {
  for (let i = 0; i < 5; i++) {
    flushSync();
    await Promise.resolve();
    await tick();
  }
}

const text = (root: HTMLElement, testId: string) =>
  root.querySelector(`[data-testid="${testId}"]`)?.textContent?.trim();

describe('App shell', () => {
  it('shows the heading and the version the backend reports', async () => {
    const { target, destroy } = render(fakePlatform());
    await settle();
    expect(target.querySelector('h1')?.textContent).toBe('MQTT Workbench');
    expect(text(target, 'app-version')).toBe('MQTT Workbench 9.8.7');
    destroy();
  });

  it('shows the backend error in words when the backend is unavailable', async () => {
    const gone = () => Promise.reject(new PlatformError('Unavailable', 'no backend here'));
    const { target, destroy } = render(
      fakePlatform({ appInfo: gone, brokerStatus: gone, brokerClients: gone }),
    );
    await settle();
    expect(target.querySelector('[role="alert"]')?.textContent).toBe('no backend here');
    destroy();
  });

  it('shows where the broker listens and who is connected, as text', async () => {
    const { target, destroy } = render(fakePlatform());
    await settle();
    (target.querySelector('[data-testid="tab-broker"]') as HTMLButtonElement).click();
    await settle();
    expect(text(target, 'broker-address')).toBe('127.0.0.1:1884');
    expect(text(target, 'status-broker')).toBe('Broker 127.0.0.1:1884');
    expect(text(target, 'connect-hint')).toBe('mqtt://127.0.0.1:1884');
    expect(target.querySelector('[data-testid="broker-notices"]')?.textContent).toContain(
      "wrong username or password for user 'dev'",
    );
    const table = target.querySelector('[data-testid="broker-clients"]');
    expect(table?.textContent).toContain('sensor-<b>1</b>');
    // The client id is data: its angle brackets stay text, never markup.
    expect(table?.querySelector('b')).toBeNull();
    destroy();
  });

  it('shows topics and payloads as text, never markup', async () => {
    const { target, destroy } = render(fakePlatform());
    await settle();
    const item = target.querySelector('[role="treeitem"]') as HTMLElement;
    expect(item.textContent).toContain('<script>alert(1)</script>');
    expect(target.querySelector('[data-testid="topic-tree"] script')).toBeNull();
    item.click();
    await settle();
    expect(text(target, 'inspector-topic')).toBe('home/<script>alert(1)</script>');
    expect(text(target, 'payload')).toContain('<img src=x onerror=alert(1)>');
    expect(target.querySelector('[data-testid="inspector"] img')).toBeNull();
    expect(text(target, 'status-rate')).toBe('2 msg/s in · 0 out');
    destroy();
  });

  it('lists packets with their fields, as text', async () => {
    const { target, destroy } = render(fakePlatform());
    await settle();
    (target.querySelector('[data-testid="tab-packets"]') as HTMLButtonElement).click();
    await settle();
    const log = target.querySelector('[data-testid="packet-log"]');
    expect(log?.textContent).toContain('PUBLISH');
    expect(log?.textContent).toContain('<i>sensor</i>');
    expect(log?.querySelector('i')).toBeNull();
    expect(text(target, 'packet-total')).toBe('12 packets seen');
    (log?.querySelector('tbody tr') as HTMLElement).click();
    await settle();
    expect(text(target, 'packet-detail')).toContain('home/temp');
    destroy();
  });

  it('charts a JSON field of the selected topic instead of its rate, until another is selected', async () => {
    const trafficChart = vi.fn(async () => '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
    const trafficValueChart = vi.fn(async () => ({
      svg: '<svg xmlns="http://www.w3.org/2000/svg"></svg>',
      points: 3,
      skipped: 1,
    }));
    const { target, destroy } = render(fakePlatform({ trafficChart, trafficValueChart }));
    await settle();
    (target.querySelector('[role="treeitem"]') as HTMLElement).click();
    await settle();
    const pick = target.querySelector('[data-testid="chart-value"]') as HTMLSelectElement;
    expect([...pick.options].map((o) => o.textContent)).toEqual(['Message rate', 'Value: /t']);
    expect(trafficValueChart).not.toHaveBeenCalled();
    pick.value = '/t';
    pick.dispatchEvent(new Event('change', { bubbles: true }));
    await settle();
    const call = trafficValueChart.mock.calls[0] as unknown[];
    expect(call.slice(0, 3)).toEqual([{ kind: 'broker' }, 3, '/t']);
    expect(call[6]).toBe(-new Date().getTimezoneOffset());
    expect(text(target, 'value-note')).toBe('3 values in the last 4 messages');
    // Back to the rate.
    pick.value = 'rate';
    pick.dispatchEvent(new Event('change', { bubbles: true }));
    await settle();
    expect(target.querySelector('[data-testid="value-note"]')).toBeNull();
    expect((trafficChart.mock.calls.at(-1) as unknown[] | undefined)?.[1]).toBe(3);
    destroy();
  });

  it('asks before deleting retained messages', async () => {
    const trafficDeleteRetained = vi.fn(async () => 1);
    const { target, destroy } = render(fakePlatform({ trafficDeleteRetained }));
    await settle();
    (target.querySelector('[role="treeitem"]') as HTMLElement).click();
    await settle();
    (target.querySelector('[data-testid="delete-retained"]') as HTMLButtonElement).click();
    await settle();
    expect(trafficDeleteRetained).not.toHaveBeenCalled();
    (target.querySelector('[data-testid="confirm-delete"]') as HTMLButtonElement).click();
    await settle();
    expect(trafficDeleteRetained).toHaveBeenCalledWith({ kind: 'broker' }, 3);
    expect(target.querySelector('[role="status"]')?.textContent).toBe('Deleted 1 retained message.');
    destroy();
  });

  it('stops the broker and shows a failed start in words', async () => {
    const brokerStop = vi.fn(async () => ({
      ...running,
      running: false,
      address: null,
      clientsConnected: 0,
    }));
    const brokerStart = vi.fn(() =>
      Promise.reject(new PlatformError('PortInUse', 'port 1883 on 127.0.0.1 is already in use')),
    );
    const { target, destroy } = render(fakePlatform({ brokerStop, brokerStart }));
    await settle();
    (target.querySelector('[data-testid="tab-broker"]') as HTMLButtonElement).click();
    await settle();
    const stop = [...target.querySelectorAll('button')].find((b) => b.textContent === 'Stop');
    stop?.click();
    await settle();
    expect(brokerStop).toHaveBeenCalledOnce();
    const apply = [...target.querySelectorAll('button')].find(
      (b) => b.textContent === 'Apply and restart',
    );
    apply?.click();
    await settle();
    expect(brokerStart).toHaveBeenCalledWith({
      bind: '127.0.0.1',
      port: 1883,
      websocketPort: null,
      tls: null,
      maxPacketSize: 16 * 1024 * 1024,
      users: [],
      limits: defaultLimits,
    });
    expect(text(target, 'broker-error')).toBe('port 1883 on 127.0.0.1 is already in use');
    destroy();
  });

  it('sends a WebSocket port and users with the new settings', async () => {
    const brokerStart = vi.fn(async () => running);
    const { target, destroy } = render(fakePlatform({ brokerStart }));
    await settle();
    (target.querySelector('[data-testid="tab-broker"]') as HTMLButtonElement).click();
    await settle();
    const type = (input: HTMLInputElement | null | undefined, value: string) => {
      if (!input) throw new Error('input missing');
      input.value = value;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    };
    const labelled = (label: string) =>
      [...target.querySelectorAll('label')]
        .find((l) => l.textContent?.trim().startsWith(label))
        ?.querySelector('input');
    type(labelled('WebSocket port'), '8083');
    type(target.querySelector<HTMLInputElement>('[aria-label="New username"]'), 'alice');
    type(target.querySelector<HTMLInputElement>('[aria-label="New password"]'), 'secret');
    await settle();
    [...target.querySelectorAll('button')].find((b) => b.textContent === 'Add user')?.click();
    await settle();
    [...target.querySelectorAll('button')].find((b) => b.textContent === 'Apply and restart')?.click();
    await settle();
    expect(brokerStart).toHaveBeenCalledWith(
      expect.objectContaining({
        websocketPort: 8083,
        users: [{ username: 'alice', password: 'secret' }],
      }),
    );
    destroy();
  });
});

/** Wraps a platform so that a test can count every call the app makes to it. */
function counting(platform: Platform): { platform: Platform; calls: () => number } {
  let calls = 0;
  const wrapped = new Proxy(platform, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { platform: wrapped, calls: () => calls };
}

function overviewOf(...sessions: ReturnType<typeof sessionView>[]): SessionsOverview {
  return {
    sessions,
    passwordStorage: 'SessionOnly',
    passwordNote: null,
    profilesFile: null,
    warning: null,
  };
}

const click = (root: HTMLElement, testId: string) =>
  (root.querySelector(`[data-testid="${testId}"]`) as HTMLElement).click();

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
    expect(windowOpen).toHaveBeenLastCalledWith(brokerSource);
    click(target, 'source-session');
    await settle();
    click(target, 'open-window');
    await settle();
    expect(windowOpen).toHaveBeenLastCalledWith(sessionSource('p1'));
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
