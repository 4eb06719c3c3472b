import { describe, expect, it, vi } from 'vitest';
import { PlatformError } from './lib/platform';
import { defaultLimits } from './lib/broker/test-fixtures';
import { fakePlatform, render, running, settle, text } from './app.testing';

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
