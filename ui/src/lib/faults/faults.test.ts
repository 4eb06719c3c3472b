import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import '../i18n/catalogs';
import { setLocale } from '../i18n/index.svelte';
import type { Platform } from '../platform';
import type { ArmedRule, Fault, FaultCalls } from '../platform/faults';
import FaultMenu from './FaultMenu.svelte';
import FaultBadge from './FaultBadge.svelte';
import { faultOf, markWords, ruleWords } from './marks';
import { faultRules } from './store.svelte';

afterEach(() => {
  setLocale('en');
  faultRules.all = [];
});

function fakePlatform() {
  const armed: ArmedRule[] = [];
  let next = 1;
  const faults: FaultCalls = {
    list: async () => [...armed],
    arm: async (clientId: string, fault: Fault) => {
      armed.push({ id: next++, clientId, fault });
      return [...armed];
    },
    clear: async (id: number) => {
      armed.splice(
        armed.findIndex((r) => r.id === id),
        1,
      );
      return [...armed];
    },
    clearClient: async () => {
      armed.length = 0;
      return [];
    },
    onChanged: async () => () => {},
  };
  return { platform: { kind: 'unavailable', faults } as unknown as Platform, armed };
}

async function settle() {
  for (let i = 0; i < 4; i++) {
    flushSync();
    await tick();
  }
}

describe('fault marks', () => {
  it('reads the mark a fault left on a packet and puts it in words', () => {
    expect(faultOf([{ name: 'Client id', value: 'x' }])).toBeNull();
    expect(faultOf([{ name: 'fault', value: 'nonsense' }])).toBeNull();
    const delay = faultOf([{ name: 'fault', value: 'delay 120' }]);
    expect(delay).toEqual({ kind: 'delay', detail: '120' });
    expect(markWords(delay!)).toBe('held 120 ms by a fault');
    setLocale('zh-CN');
    expect(markWords({ kind: 'refuse', detail: '0x87' })).toBe('被故障以 0x87 拒绝');
  });

  it('describes every kind of rule in both languages', () => {
    const faults: Fault[] = [
      { type: 'delay', toward: 'client', fixedMs: 100, jitterMs: 20 },
      { type: 'drop', kind: 'PubAck', toward: 'client', count: 1 },
      { type: 'duplicate', toward: 'client', count: 2 },
      { type: 'cut' },
      { type: 'pause' },
      { type: 'refuse', code: 0x87 },
      { type: 'disconnect', code: 0x98 },
    ];
    expect(ruleWords(faults[1]!)).toBe('drop the next 1 PUBACK to the client');
    for (const locale of ['en', 'zh-CN'] as const) {
      setLocale(locale);
      for (const fault of faults) expect(ruleWords(fault)).not.toMatch(/faults\./);
    }
  });

  it('shows a badge only on marked packets', async () => {
    const target = document.createElement('div');
    document.body.append(target);
    const badge = mount(FaultBadge, {
      target,
      props: { fields: [{ name: 'fault', value: 'drop' }] },
    });
    await settle();
    expect(target.querySelector('[data-testid="fault-mark"]')?.textContent).toContain(
      'dropped by a fault',
    );
    unmount(badge);
    target.remove();
  });
});

describe('a client row’s fault menu', () => {
  it('arms a dropped PUBACK for that client and clears it again', async () => {
    const { platform, armed } = fakePlatform();
    const target = document.createElement('div');
    document.body.append(target);
    const menu = mount(FaultMenu, { target, props: { platform, clientId: 'dev1' } });
    await settle();
    const button = target.querySelector<HTMLButtonElement>('[data-testid="faults-button"]')!;
    expect(button.textContent).toBe('Faults');
    button.click();
    await settle();
    target.querySelector<HTMLButtonElement>('[data-testid="fault-arm-drop"]')!.click();
    await settle();
    expect(armed).toEqual([
      { id: 1, clientId: 'dev1', fault: { type: 'drop', kind: 'PubAck', toward: 'client', count: 1 } },
    ]);
    expect(button.textContent).toBe('Faults (1)');
    expect(target.textContent).toContain('drop the next 1 PUBACK to the client');
    target.querySelector<HTMLButtonElement>('[data-testid="fault-rule"] button')!.click();
    await settle();
    expect(armed).toEqual([]);
    expect(button.textContent).toBe('Faults');
    unmount(menu);
    target.remove();
  });
});
