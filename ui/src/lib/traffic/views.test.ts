import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import PacketLog from './PacketLog.svelte';
import TopicTree from './TopicTree.svelte';
import {
  brokerSource,
  sourceKey,
  type PacketPage,
  type Platform,
  type SourceId,
  type TrafficFrame,
} from '../platform';
import { setLocale } from '../i18n/index.svelte';

const page: PacketPage = {
  total: 1,
  rows: [
    {
      timeMs: 0,
      direction: 'Inbound',
      clientId: 'sensor',
      remote: '127.0.0.1:5000',
      kind: 'Publish',
      packetId: 7,
      qos: 1,
      retain: true,
      dup: false,
      topic: 'home/temp',
      payloadLen: 1,
      size: 17,
      reason: null,
      fields: [],
    },
  ],
};

const frame: TrafficFrame = {
  viewer: 1,
  source: brokerSource,
  rows: [
    {
      id: 1,
      depth: 1,
      name: '',
      topic: '',
      ownCount: 2,
      subtreeCount: 5,
      hasChildren: true,
      expanded: true,
      retained: true,
      lastTimeMs: 0,
      rate: 3,
      preview: 'x',
      payloadLen: 1,
    },
  ],
  rowCount: 1,
  from: 0,
  topics: 1,
  messages: 2,
  rateIn: 0,
  rateOut: 0,
  historyBytes: 0,
  packets: 0,
  dropped: 0,
  topicsNotShown: 0,
  messagesNotShown: 0,
};

const platform = {
  trafficPackets: async () => page,
  trafficExportPackets: async (source: SourceId) => ({
    path: `/home/me/Downloads/mqtt-packets-${sourceKey(source)}.jsonl`,
    packets: 1,
  }),
  trafficView: async () => {},
  trafficExpand: async () => {},
  trafficExpandAll: async () => {},
  trafficClear: async () => {},
} as unknown as Platform;

async function settle() {
  for (let i = 0; i < 5; i++) {
    flushSync();
    await Promise.resolve();
    await tick();
  }
}

function attributes(root: HTMLElement): string {
  return [...root.querySelectorAll('[placeholder], [aria-label], [title]')]
    .map((el) =>
      ['placeholder', 'aria-label', 'title'].map((name) => el.getAttribute(name) ?? '').join(' '),
    )
    .join(' ');
}

afterEach(() => setLocale('en'));

describe('traffic views in both languages', () => {
  it('packet log: one packet, true/false flags, Chinese without raw keys', async () => {
    const target = document.createElement('div');
    document.body.append(target);
    const log = mount(PacketLog, { target, props: { platform, source: brokerSource } });
    await settle();
    expect(target.querySelector('[data-testid="packet-total"]')?.textContent?.trim()).toBe(
      '1 packet seen',
    );
    (target.querySelector('tbody tr') as HTMLElement).click();
    await settle();
    (target.querySelector('[data-testid="packet-export"]') as HTMLButtonElement).click();
    await settle();
    expect(target.querySelector('[data-testid="packet-export-note"]')?.textContent).toBe(
      'Saved 1 packet to /home/me/Downloads/mqtt-packets-broker.jsonl',
    );
    const detail = target.querySelector('[data-testid="packet-detail"]')?.textContent ?? '';
    expect(detail).toContain('1 / true / false');
    expect(detail).toContain('1 byte');
    expect(detail).toContain('client → broker');
    setLocale('zh-CN');
    await settle();
    expect(target.textContent).toContain('已记录 1 个报文');
    expect(target.textContent).toContain('客户端 → 代理');
    expect(target.textContent).not.toMatch(/traffic\.[a-z]/);
    expect(attributes(target)).not.toMatch(/traffic\.[a-z]/);
    unmount(log);
    target.remove();
  });

  it('topic tree: Chinese without raw keys', async () => {
    setLocale('zh-CN');
    const target = document.createElement('div');
    document.body.append(target);
    const tree = mount(TopicTree, {
      target,
      props: {
        platform,
        source: brokerSource,
        viewer: 1,
        frame,
        selected: null,
        onselect: () => {},
      },
    });
    await settle();
    expect(target.textContent).toContain('全部展开');
    expect(target.textContent).toContain('（空）');
    expect(target.textContent).toContain('3/秒');
    expect(target.textContent).not.toMatch(/traffic\.[a-z]/);
    expect(attributes(target)).not.toMatch(/traffic\.[a-z]/);
    unmount(tree);
    target.remove();
  });

  it('topic tree: the arrows move the selection and keep it on screen', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({
      ...frame.rows[0]!,
      id: i + 1,
      name: `t${i}`,
      topic: `t${i}`,
      hasChildren: false,
      expanded: false,
    }));
    const many: TrafficFrame = { ...frame, rows, rowCount: 40 };
    const picked: string[] = [];
    const target = document.createElement('div');
    document.body.append(target);
    const tree = mount(TopicTree, {
      target,
      props: {
        platform,
        source: brokerSource,
        viewer: 1,
        frame: many,
        selected: rows[9]!,
        onselect: (row) => picked.push(row.topic),
      },
    });
    await settle();
    const viewport = target.querySelector('[data-testid="topic-tree"]') as HTMLElement;
    Object.defineProperty(viewport, 'clientHeight', { value: 240 }); // ten rows of 24 px
    const key = (name: string) =>
      viewport.dispatchEvent(new KeyboardEvent('keydown', { key: name, bubbles: true }));
    key('ArrowDown');
    expect(picked).toEqual(['t10']);
    expect(viewport.scrollTop).toBe(11 * 24 - 240); // row 10 just fits at the bottom
    key('ArrowUp');
    expect(picked).toEqual(['t10', 't8']);
    expect(viewport.scrollTop, 'row 8 was already on screen').toBe(11 * 24 - 240);
    unmount(tree);
    target.remove();
  });
});
