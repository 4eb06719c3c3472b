// The shell's comfort: keyboard shortcuts, the command palette, the shortcut list, the settings
// page, the theme switch, and the app's own session in the sources.
import { describe, expect, it, vi } from 'vitest';
import type { Preferences, PreferencesView } from './lib/platform';
import { fakePlatform, overviewOf, render, settle } from './app.testing';
import { sessionView } from './lib/session/testing.svelte';
import { PlatformError } from './lib/platform';

const press = (key: string, ctrl = false, target: EventTarget = document.body) =>
  target.dispatchEvent(new KeyboardEvent('keydown', { key, ctrlKey: ctrl, bubbles: true }));

const defaults: Preferences = {
  startBroker: true,
  historyPerTopic: 100,
  historyTotalMb: 256,
  packetLog: 10000,
  downloads: null,
};

describe('shell comfort', () => {
  it('opens the palette with Ctrl+K and goes where the typed text points', async () => {
    const { target, destroy } = render(fakePlatform());
    await settle();
    press('k', true);
    await settle();
    const input = target.querySelector<HTMLInputElement>('[data-testid="palette-input"]');
    expect(input).not.toBeNull();
    input!.value = 'packets';
    input!.dispatchEvent(new Event('input', { bubbles: true }));
    await settle();
    const items = [...target.querySelectorAll('[data-testid="palette-item"]')].map((i) => i.textContent);
    expect(items[0]).toContain('Packets');
    input!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    await settle();
    expect(target.querySelector('[data-testid="palette"]')).toBeNull();
    expect(target.querySelector('[data-testid="tab-packets"]')?.getAttribute('aria-selected')).toBe('true');
    destroy();
  });

  it('lists the shortcuts on ?, but not while typing in a field', async () => {
    const { target, destroy } = render(fakePlatform());
    await settle();
    const filter = target.querySelector<HTMLInputElement>('[data-testid="tree-filter"]');
    expect(filter).not.toBeNull();
    press('?', false, filter!);
    await settle();
    expect(target.querySelector('[data-testid="shortcut-help"]')).toBeNull();
    press('?');
    await settle();
    const help = target.querySelector('[data-testid="shortcut-help"]');
    expect(help?.textContent).toContain('Ctrl+K');
    expect(help?.textContent).toContain('Ctrl+ENTER'.replace('ENTER', 'Enter'));
    destroy();
  });

  it('saves the settings page and shows a refusal in words', async () => {
    let saved: Preferences | null = null;
    const view = (p: Preferences): PreferencesView => ({
      preferences: p,
      defaults,
      note: null,
      defaultDownloads: '/home/me/Downloads',
    });
    const preferencesSet = vi.fn(async (p: Preferences) => {
      if (p.packetLog < 100) throw new PlatformError('InvalidInput', 'packets kept must be between 100 and 1000000 (was 5)');
      saved = p;
      return view(p);
    });
    const { target, destroy } = render(
      fakePlatform({ preferencesGet: async () => view(defaults), preferencesSet }),
    );
    await settle();
    press(',', true);
    await settle();
    expect(target.querySelector('[data-testid="settings-page"]')).not.toBeNull();
    const packets = target.querySelector<HTMLInputElement>('[data-testid="settings-packetLog"]')!;
    packets.value = '5';
    packets.dispatchEvent(new Event('input', { bubbles: true }));
    target.querySelector<HTMLButtonElement>('[data-testid="settings-save"]')!.click();
    await settle();
    expect(target.querySelector('[data-testid="settings-error"]')?.textContent).toContain('between 100 and 1000000');
    packets.value = '2000';
    packets.dispatchEvent(new Event('input', { bubbles: true }));
    const start = target.querySelector<HTMLInputElement>('[data-testid="settings-start-broker"]')!;
    start.click();
    target.querySelector<HTMLButtonElement>('[data-testid="settings-save"]')!.click();
    await settle();
    expect(saved).toEqual({ ...defaults, packetLog: 2000, startBroker: false });
    expect(target.querySelector('[data-testid="settings-saved"]')).not.toBeNull();
    // The theme switch applies at once.
    target.querySelector<HTMLInputElement>('[data-testid="theme-dark"]')!.click();
    await settle();
    expect(document.documentElement.dataset.theme).toBe('dark');
    target.querySelector<HTMLInputElement>('[data-testid="theme-light"]')!.click();
    await settle();
    expect(document.documentElement.dataset.theme).toBe('light');
    destroy();
  });

  it("names the app's own session as such, apart from the saved ones", async () => {
    const own = sessionView(
      { id: 'workbench', name: 'This app', clientId: 'mqtt-workbench' },
      { state: 'Connected', sinceMs: Date.now(), sessionPresent: false } as never,
      { appSession: true, clientId: 'mqtt-workbench' },
    );
    const mine = sessionView({ id: 's2', name: 'plant' });
    const { target, destroy } = render(
      fakePlatform({ sessionList: async () => overviewOf(own, mine) }),
    );
    await settle();
    const app = target.querySelector('[data-testid="source-app-session"]');
    expect(app?.textContent).toContain('This app');
    expect(app?.textContent).toContain('mqtt-workbench');
    const saved = [...target.querySelectorAll('[data-testid="source-session"]')];
    expect(saved.map((s) => s.textContent)).toEqual([expect.stringContaining('plant')]);
    destroy();
  });
});
