import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import RateChart from './RateChart.svelte';
import { brokerSource, sessionSource, type Platform, type TrafficFrame } from '../platform';
import { setLocale } from '../i18n/index.svelte';
import { reactiveProps } from '../session/testing.svelte';

const frame: TrafficFrame = {
  viewer: 3,
  source: brokerSource,
  rows: [],
  rowCount: 0,
  from: 0,
  topics: 0,
  messages: 0,
  rateIn: 0,
  rateOut: 0,
  historyBytes: 0,
  packets: 0,
  dropped: 0,
  topicsNotShown: 0,
  messagesNotShown: 0,
};

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
      props: { platform, source: sessionSource('s1'), viewer: 5, node: 7, name: 'home/<b>' },
    });
    await settle();
    const call = vi.mocked(platform.trafficChart).mock.calls[0]!;
    expect(call.slice(0, 2)).toEqual([5, 7]);
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
      props: { platform, source: brokerSource, viewer: null, node: 4, value: '', name: 'plant/temp' },
    });
    await settle();
    const call = vi.mocked(platform.trafficValueChart).mock.calls[0]!;
    expect(call.slice(0, 3)).toEqual([{ kind: 'broker' }, 4, '']);
    expect(call[7]).toBe('载荷');
    expect(target.querySelector('[data-testid="value-note"]')?.textContent).toBe(
      '保留的消息中 载荷 处都没有数值',
    );
    expect(target.querySelector('img')?.getAttribute('alt')).toBe('消息中的数值随时间变化');
    unmount(chart);
    target.remove();
    setLocale('en');
  });

  describe('pushed frames', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('redraws at most once a second under a burst of frames, and once more at the end', async () => {
      vi.useFakeTimers();
      const drawnAt: number[] = [];
      const platform = {
        trafficChart: vi.fn(async () => {
          drawnAt.push(Date.now());
          return '<svg></svg>';
        }),
      } as unknown as Platform;
      const props = reactiveProps({
        platform,
        source: brokerSource,
        viewer: null as number | null,
        frame: null as TrafficFrame | null,
      });
      const target = document.createElement('div');
      document.body.append(target);
      const chart = mount(RateChart, { target, props });
      await settle();
      expect(drawnAt, 'nothing to draw before the viewer is named').toEqual([]);

      const start = Date.now();
      props.viewer = 3;
      props.frame = { ...frame };
      await settle();
      expect(drawnAt).toEqual([start]);
      expect(vi.mocked(platform.trafficChart).mock.calls[0]?.slice(0, 2)).toEqual([3, null]);

      // 30 frames a second for 2.5 s.
      let lastFrameAt = start;
      for (let i = 1; i <= 75; i++) {
        await vi.advanceTimersByTimeAsync(33);
        props.frame = { ...frame, messages: i };
        lastFrameAt = Date.now();
        await settle();
      }
      // A frame of another viewer is not a reason to redraw.
      await vi.advanceTimersByTimeAsync(5_000);
      const drawn = drawnAt.length;
      props.frame = { ...frame, viewer: 9 };
      await settle();
      await vi.advanceTimersByTimeAsync(5_000);

      const gaps = drawnAt.slice(1).map((t, i) => t - drawnAt[i]!);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
      expect(drawnAt.length).toBe(4); // at 0, 1, 2 s and the last after 2.5 s
      expect(drawnAt.at(-1)!).toBeGreaterThanOrEqual(lastFrameAt);
      expect(drawnAt.length).toBe(drawn);
      expect(vi.getTimerCount()).toBe(0);
      unmount(chart);
      target.remove();
    });
  });
});
