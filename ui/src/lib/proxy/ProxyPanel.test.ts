import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import ProxyPanel from './ProxyPanel.svelte';
import type { Platform } from '../platform';
import type { ProxyCalls, ProxyClientView, ProxyView } from '../platform/proxy';
import { setLocale } from '../i18n/index.svelte';

function client(clientId: string, state: ProxyClientView['state'], detail = ''): ProxyClientView {
  return {
    connection: clientId.length,
    clientId,
    remote: '127.0.0.1:50000',
    version: '3.1.1',
    username: 'alice',
    state,
    detail,
    packetsIn: 3,
    packetsOut: 2,
    sinceMs: 0,
  };
}

const running: ProxyView = {
  id: '1884',
  listenUrl: 'mqtt://127.0.0.1:1884',
  upstreamUrl: 'mqtt://broker.example:1883',
  clients: [
    client('<b>sensor</b>', 'connected'),
    client(
      'wrong-pw',
      'refused',
      'not authorized: the broker refused these credentials [CONNACK code 0x05]',
    ),
  ],
  faults: [],
  eventsDropped: 0,
};

function fakeCalls(list: ProxyView[]) {
  const stopped: string[] = [];
  const calls: ProxyCalls = {
    list: () => Promise.resolve(list),
    start: () => Promise.reject(new Error('not here')),
    armFault: () => Promise.resolve([]),
    clearFault: () => Promise.resolve([]),
    stop: (id) => {
      stopped.push(id);
      return Promise.resolve();
    },
    onChanged: () => Promise.resolve(() => {}),
  };
  return { calls, stopped };
}

async function settle() {
  for (let i = 0; i < 4; i++) {
    flushSync();
    await tick();
  }
}

const byTest = (target: HTMLElement, id: string) =>
  target.querySelector<HTMLElement>(`[data-testid="${id}"]`);

afterEach(() => setLocale('en'));

describe('proxy panel', () => {
  it('shows the clients, refusals in words, client ids as text, and stops', async () => {
    const { calls, stopped } = fakeCalls([running]);
    const target = document.createElement('div');
    document.body.append(target);
    const view = mount(ProxyPanel, {
      target,
      props: { platform: { kind: 'unavailable' } as Platform, id: '1884', calls },
    });
    await settle();
    expect(byTest(target, 'proxy-listen')?.textContent).toBe('mqtt://127.0.0.1:1884');
    const rows = target.querySelectorAll('[data-testid="proxy-client"]');
    expect(rows.length).toBe(2);
    expect(rows[0]?.textContent).toContain('<b>sensor</b>');
    expect(target.querySelector('b')).toBeNull();
    expect(byTest(target, 'proxy-client-detail')?.textContent).toContain('CONNACK code 0x05');
    expect(rows[1]?.textContent).toContain('Refused');
    setLocale('zh-CN');
    await settle();
    expect(rows[1]?.textContent).toContain('被拒绝');
    byTest(target, 'proxy-stop')?.click();
    await settle();
    expect(stopped).toEqual(['1884']);
    expect(byTest(target, 'proxy-panel')?.textContent).toContain('未运行');
    unmount(view);
    target.remove();
  });
});
