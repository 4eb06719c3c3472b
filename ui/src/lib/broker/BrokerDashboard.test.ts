import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import BrokerDashboard from './BrokerDashboard.svelte';
import type { BrokerStatus, ClientView, NoticeView, Platform } from '../platform';
import { setLocale } from '../i18n/index.svelte';
import { defaultLimits } from './test-fixtures';

const status: BrokerStatus = {
  running: true,
  address: '0.0.0.0:1883',
  listeners: ['mqtt://0.0.0.0:1883', 'ws://0.0.0.0:8083'],
  exposed: true,
  settings: {
    bind: '0.0.0.0',
    port: 1883,
    websocketPort: 8083,
    tls: null,
    maxPacketSize: 16 * 1024 * 1024,
    usernames: ['alice', 'bob'],
    limits: defaultLimits,
  },
  clientsConnected: 1,
  retainedMessages: 0,
  lastError: null,
  note: null,
};

const client: ClientView = {
  clientId: 'sensor',
  remote: '10.0.0.5:50000',
  protocol: '5.0',
  keepAlive: 0,
  cleanSession: true,
  connectedAtMs: 0,
  subscriptions: [{ filter: 'cmd/#', qos: 1 }],
  publishReceived: 3,
  publishSent: 0,
  bytesReceived: 300,
  bytesSent: 0,
  droppedQos0: 0,
  droppedQos12: 0,
  queued: 0,
};

const notice: NoticeView = {
  timeMs: 0,
  kind: 'Refused',
  clientId: 'dev',
  remote: null,
  detail: 'bad password',
};

async function render(
  overrides: { platform?: Partial<Platform>; clients?: ClientView[] } = {},
) {
  const target = document.createElement('div');
  document.body.append(target);
  const dashboard = mount(BrokerDashboard, {
    target,
    props: {
      platform: (overrides.platform ?? {}) as Platform,
      status,
      clients: overrides.clients ?? [client],
      notices: [notice],
      now: 125_000,
      onchange: () => {},
    },
  });
  for (let i = 0; i < 3; i++) {
    flushSync();
    await tick();
  }
  return {
    target,
    destroy: () => {
      unmount(dashboard);
      target.remove();
    },
  };
}

afterEach(() => setLocale('en'));

describe('broker dashboard', () => {
  it('speaks English', async () => {
    const { target, destroy } = await render();
    const text = target.textContent ?? '';
    expect(text).toContain('Reachable from your network');
    expect(text).toContain('Password required (alice, bob).');
    expect(text).toContain('Devices on your network will be able to connect, without a password.');
    expect(text).toContain('2 min');
    expect(text).toContain('Refused');
    destroy();
  });

  it('speaks Simplified Chinese, every string from the catalog', async () => {
    setLocale('zh-CN');
    const { target, destroy } = await render();
    const text = target.textContent ?? '';
    expect(text).toContain('内置代理');
    expect(text).toContain('需要密码（alice、bob）。');
    expect(text).toContain('2 分钟');
    expect(text).toContain('已拒绝');
    expect(text).not.toMatch(/broker\.[a-z]/);
    const attributes = [...target.querySelectorAll('[placeholder], [aria-label], [title]')].map(
      (el) =>
        `${el.getAttribute('placeholder') ?? ''} ${el.getAttribute('aria-label') ?? ''} ${el.getAttribute('title') ?? ''}`,
    );
    expect(attributes.join(' ')).not.toMatch(/broker\.[a-z]/);
    destroy();
  });

  it('edits the limits and sends them with the settings', async () => {
    const started: unknown[] = [];
    const { target, destroy } = await render({
      platform: {
        brokerStart: async (settings) => {
          started.push(settings);
          return status;
        },
      },
    });
    const input = target.querySelector<HTMLInputElement>(
      "[data-testid='limit-maxSubscriptionsPerClient']",
    );
    expect(input?.value).toBe('10000');
    input!.value = '25';
    input!.dispatchEvent(new Event('input'));
    const queued = target.querySelector<HTMLInputElement>("[data-testid='limit-maxQueuedBytes']");
    queued!.value = '2';
    queued!.dispatchEvent(new Event('input'));
    flushSync();
    target.querySelector<HTMLFormElement>('form.settings')!.requestSubmit();
    await tick();
    expect(started).toHaveLength(1);
    const limits = (started[0] as { limits: Record<string, number> }).limits;
    expect(limits.maxSubscriptionsPerClient).toBe(25);
    expect(limits.maxQueuedBytes).toBe(2 * 1024 * 1024);
    expect(limits.packetTimeoutSecs).toBe(30);
    destroy();
  });

  it('refuses a limit that is not a number, naming it', async () => {
    const { target, destroy } = await render({ platform: { brokerStart: async () => status } });
    const input = target.querySelector<HTMLInputElement>("[data-testid='limit-maxInflight']");
    input!.value = 'lots';
    input!.dispatchEvent(new Event('input'));
    flushSync();
    expect(target.textContent).toContain('“In flight to a client (QoS 1 and 2)” must be a whole number');
    const apply = target.querySelector<HTMLButtonElement>("form.settings button[type='submit']");
    expect(apply?.disabled).toBe(true);
    expect(input?.getAttribute('aria-invalid')).toBe('true');
    destroy();
  });

  it('shows what a slow client lost', async () => {
    const { target, destroy } = await render({
      clients: [{ ...client, droppedQos0: 1200, droppedQos12: 3 }],
    });
    const dropped = target.querySelector("[data-testid='client-dropped']");
    expect(dropped?.textContent).toBe('1203 dropped');
    expect(dropped?.getAttribute('title')).toContain('1200 dropped because the client read too slowly');
    destroy();
    const calm = await render();
    expect(calm.target.querySelector("[data-testid='client-dropped']")).toBeNull();
    calm.destroy();
  });
});
