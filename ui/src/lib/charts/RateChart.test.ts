import { describe, expect, it, vi } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import RateChart from './RateChart.svelte';
import type { Platform } from '../platform';
import { setLocale } from '../i18n/index.svelte';

async function settle() {
  for (let i = 0; i < 5; i++) {
    flushSync();
    await Promise.resolve();
    await tick();
  }
}

describe('RateChart', () => {
  it('shows the backend SVG as an image, in the UI language, and exports it', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><text>&lt;b&gt;</text></svg>';
    const platform = {
      trafficChart: vi.fn(async () => svg),
      saveToDownloads: vi.fn(async (name: string) => `/home/me/Downloads/${name}`),
    } as unknown as Platform;
    setLocale('zh-CN');
    const target = document.createElement('div');
    document.body.append(target);
    const chart = mount(RateChart, {
      target,
      props: { platform, source: 'session:s1', node: 7, name: 'home/<b>' },
    });
    await settle();
    const call = vi.mocked(platform.trafficChart).mock.calls[0]!;
    expect(call.slice(0, 2)).toEqual(['session:s1', 7]);
    expect(call[5]).toMatchObject({ incoming: '收到', unit: '条/秒' });
    const image = target.querySelector('[data-testid="rate-chart-image"]') as HTMLImageElement;
    expect(image.getAttribute('src')).toMatch(/^blob:/);
    expect(target.querySelector('b, text')).toBeNull(); // the SVG is never part of the page

    (target.querySelector('[data-testid="export-svg"]') as HTMLButtonElement).click();
    await settle();
    const [name, bytes] = vi.mocked(platform.saveToDownloads).mock.calls[0]!;
    expect(name).toBe('home_b.svg');
    expect(new TextDecoder().decode(bytes)).toBe(svg);
    expect(target.querySelector('[data-testid="export-note"]')?.textContent).toContain(
      '/home/me/Downloads/home_b.svg',
    );
    unmount(chart);
    target.remove();
    setLocale('en');
  });

  it('charts a value of the messages and says when none holds a number', async () => {
    const platform = {
      trafficValueChart: vi.fn(async () => ({ svg: '<svg></svg>', points: 0, skipped: 5 })),
    } as unknown as Platform;
    setLocale('zh-CN');
    const target = document.createElement('div');
    document.body.append(target);
    const chart = mount(RateChart, {
      target,
      props: { platform, source: 'broker', node: 4, value: '', name: 'plant/temp' },
    });
    await settle();
    const call = vi.mocked(platform.trafficValueChart).mock.calls[0]!;
    expect(call.slice(0, 3)).toEqual(['broker', 4, '']);
    expect(call[7]).toBe('载荷');
    expect(target.querySelector('[data-testid="value-note"]')?.textContent).toBe(
      '保留的消息中 载荷 处都没有数值',
    );
    expect(target.querySelector('img')?.getAttribute('alt')).toBe('消息中的数值随时间变化');
    unmount(chart);
    target.remove();
    setLocale('en');
  });
});
