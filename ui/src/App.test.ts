import { describe, expect, it } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import App from './App.svelte';
import { PlatformError, type AppInfo, type Platform } from './lib/platform';

const info: AppInfo = {
  name: 'MQTT Workbench',
  version: '9.8.7',
  tauriVersion: '2.0.0',
  os: 'linux',
  arch: 'x86_64',
};

function render(platform: Platform) {
  const target = document.createElement('div');
  document.body.append(target);
  const app = mount(App, { target, props: { platform } });
  return { target, destroy: () => unmount(app) };
}

async function settle() {
  flushSync();
  await Promise.resolve();
  await tick();
}

describe('App shell', () => {
  it('shows the heading and the version the backend reports', async () => {
    const { target, destroy } = render({ kind: 'tauri', appInfo: async () => info });
    await settle();
    expect(target.querySelector('h1')?.textContent).toBe('MQTT Workbench');
    expect(target.querySelector('[data-testid="app-version"]')?.textContent).toBe(
      'MQTT Workbench 9.8.7',
    );
    destroy();
  });

  it('shows the backend error in words when the backend is unavailable', async () => {
    const { target, destroy } = render({
      kind: 'unavailable',
      appInfo: () => Promise.reject(new PlatformError('Unavailable', 'no backend here')),
    });
    await settle();
    expect(target.querySelector('[role="alert"]')?.textContent).toBe('no backend here');
    destroy();
  });
});
