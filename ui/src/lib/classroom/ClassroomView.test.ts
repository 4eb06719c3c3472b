import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import ClassroomView from './ClassroomView.svelte';
import type { ClientView, Platform } from '../platform';
import { PlatformError } from '../platform';
import type { ClassroomCalls, ClassroomOptions, ClassroomStatus } from '../platform/classroom';
import { setLocale } from '../i18n/index.svelte';
import { qrModules } from './qr';
import { isStudent, parsePort, students } from './students';

const off: ClassroomStatus = {
  on: false,
  pagePort: null,
  websocketPort: null,
  urls: [],
  localUrl: null,
  password: false,
  pageBuilt: true,
};

const on: ClassroomStatus = {
  on: true,
  pagePort: 8088,
  websocketPort: 8083,
  urls: ['http://192.168.1.20:8088/', 'http://10.0.0.7:8088/'],
  localUrl: 'http://127.0.0.1:8088/',
  password: false,
  pageBuilt: true,
};

function client(clientId: string): ClientView {
  return {
    clientId,
    remote: '192.168.1.30:50000',
    protocol: '3.1.1',
    keepAlive: 30,
    cleanSession: true,
    connectedAtMs: 0,
    subscriptions: [],
    publishReceived: 0,
    publishSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    droppedQos0: 0,
    droppedQos12: 0,
    queued: 0,
  };
}

function fakeCalls(answer: (options: ClassroomOptions) => Promise<ClassroomStatus>) {
  const asked: ClassroomOptions[] = [];
  const calls: ClassroomCalls = {
    status: () => Promise.resolve(off),
    on: (options) => {
      asked.push(options);
      return answer(options);
    },
    off: () => Promise.resolve(off),
    onChanged: () => Promise.resolve(() => {}),
  };
  return { calls, asked };
}

async function settle() {
  for (let i = 0; i < 4; i++) {
    flushSync();
    await tick();
  }
}

async function render(calls: ClassroomCalls, clients: ClientView[] = []) {
  const target = document.createElement('div');
  document.body.append(target);
  const view = mount(ClassroomView, {
    target,
    props: { platform: { kind: 'unavailable' } as Platform, clients, broker: null, calls },
  });
  await settle();
  return {
    target,
    destroy: () => {
      unmount(view);
      target.remove();
    },
  };
}

const byTest = (target: HTMLElement, id: string) =>
  target.querySelector<HTMLElement>(`[data-testid="${id}"]`);

afterEach(() => setLocale('en'));

describe('classroom panel', () => {
  it('warns, turns on with the options, and shows the address as text and QR code', async () => {
    const { calls, asked } = fakeCalls(() => Promise.resolve(on));
    const { target, destroy } = await render(calls, [client('Alice~k3f'), client('sensor')]);
    expect(byTest(target, 'classroom-exposure')?.textContent).toContain('every network');
    expect(byTest(target, 'classroom-qr')).toBeNull();
    const password = byTest(target, 'classroom-password') as HTMLInputElement;
    password.value = 'kite';
    password.dispatchEvent(new Event('input'));
    byTest(target, 'classroom-on')?.click();
    await settle();
    expect(asked).toEqual([{ pagePort: 8088, websocketPort: null, password: 'kite' }]);
    expect(byTest(target, 'classroom-url')?.textContent).toBe('http://192.168.1.20:8088/');
    const qr = byTest(target, 'classroom-qr');
    expect(qr?.getAttribute('aria-label')).toContain('http://192.168.1.20:8088/');
    expect(qr?.querySelectorAll('rect').length).toBe(
      qrModules('http://192.168.1.20:8088/').dark.length + 1,
    );
    expect(byTest(target, 'classroom-count')?.textContent).toBe('Students connected: 1');
    expect(byTest(target, 'classroom-students')?.textContent).toContain('Alice');
    destroy();
  });

  it('says why it did not turn on, in Chinese too', async () => {
    setLocale('zh-CN');
    const { calls } = fakeCalls(() =>
      Promise.reject(new PlatformError('PortInUse', 'port 8088 is already in use by another program')),
    );
    const { target, destroy } = await render(calls);
    expect(target.textContent).toContain('开启课堂');
    byTest(target, 'classroom-on')?.click();
    await settle();
    expect(byTest(target, 'classroom-error')?.textContent).toContain('8088');
    expect(byTest(target, 'classroom-state')?.textContent).toContain('课堂已关闭');
    destroy();
  });

  it('refuses a port that is not one', async () => {
    const { calls, asked } = fakeCalls(() => Promise.resolve(on));
    const { target, destroy } = await render(calls);
    const port = byTest(target, 'classroom-page-port') as HTMLInputElement;
    port.value = '99999';
    port.dispatchEvent(new Event('input'));
    byTest(target, 'classroom-on')?.click();
    await settle();
    expect(asked).toEqual([]);
    expect(byTest(target, 'classroom-error')?.textContent).toContain('65535');
    destroy();
  });
});

describe('students and ports', () => {
  it('tells students by their client ids', () => {
    expect(isStudent('Alice~k3f')).toBe(true);
    expect(isStudent('李雷~0a9')).toBe(true);
    expect(isStudent('sensor')).toBe(false);
    expect(isStudent('~abc')).toBe(false);
    expect(students([client('Zoe~aaa'), client('Ben~bbb'), client('app')]).map((s) => s.name)).toEqual([
      'Ben',
      'Zoe',
    ]);
  });

  it('parses ports', () => {
    expect(parsePort(' 8088 ')).toBe(8088);
    expect(parsePort('0')).toBeNull();
    expect(parsePort('65536')).toBeNull();
    expect(parsePort('80a')).toBeNull();
  });

  it('encodes a QR code with a quiet zone', () => {
    const qr = qrModules('http://192.168.1.20:8088/');
    expect(qr.size).toBeGreaterThanOrEqual(21 + 8);
    // The quiet zone (four modules) is white.
    expect(qr.dark.every(([x, y]) => x >= 4 && y >= 4 && x < qr.size - 4 && y < qr.size - 4)).toBe(true);
    // The three finder patterns' corners are dark.
    expect(qr.dark).toContainEqual([4, 4]);
  });
});
