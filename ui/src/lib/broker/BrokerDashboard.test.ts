import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import BrokerDashboard from './BrokerDashboard.svelte';
import type { BrokerStatus, ClientView, NoticeView, Platform } from '../platform';
import { setLocale } from '../i18n/index.svelte';

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
};

const notice: NoticeView = {
  timeMs: 0,
  kind: 'Refused',
  clientId: 'dev',
  remote: null,
  detail: 'bad password',
};

async function render() {
  const target = document.createElement('div');
  document.body.append(target);
  const dashboard = mount(BrokerDashboard, {
    target,
    props: {
      platform: {} as Platform,
      status,
      clients: [client],
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
});
