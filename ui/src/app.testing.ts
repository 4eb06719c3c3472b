// The app as its tests mount it: a fake platform (every call answered from fixtures, or
// refused as unused), the fixtures, and small helpers to mount, settle and read the DOM.
import { flushSync, mount, tick, unmount } from 'svelte';
import App from './App.svelte';
import {
  brokerSource,
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

export const info: AppInfo = {
  name: 'MQTT Workbench',
  version: '9.8.7',
  tauriVersion: '2.0.0',
  os: 'linux',
  arch: 'x86_64',
};

export const running: BrokerStatus = {
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

export const sensor: ClientView = {
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

export const row = {
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

export const frame: TrafficFrame = {
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

export function fakePlatform(overrides: Partial<Platform> = {}): Platform {
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
    preferencesGet: unused,
    preferencesSet: unused,
    ...overrides,
  };
}

export function unused(): Promise<never> {
  return Promise.reject(new Error('not used by this test'));
}

export function render(platform: Platform, initialSource?: SourceId) {
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

export async function settle() {
  for (let i = 0; i < 5; i++) {
    flushSync();
    await Promise.resolve();
    await tick();
  }
}

export const text = (root: HTMLElement, testId: string) =>
  root.querySelector(`[data-testid="${testId}"]`)?.textContent?.trim();

/** Wraps a platform so that a test can count every call the app makes to it. */
export function counting(platform: Platform): { platform: Platform; calls: () => number } {
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

export function overviewOf(...sessions: ReturnType<typeof sessionView>[]): SessionsOverview {
  return {
    sessions,
    passwordStorage: 'SessionOnly',
    passwordNote: null,
    profilesFile: null,
    warning: null,
  };
}

export const click = (root: HTMLElement, testId: string) =>
  (root.querySelector(`[data-testid="${testId}"]`) as HTMLElement).click();
