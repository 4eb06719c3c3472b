import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import Inspector from './Inspector.svelte';
import { brokerSource, type Platform, type StoredMessage, type TreeRow } from '../platform';
import { setLocale } from '../i18n/index.svelte';

const utf8 = (text: string) => new TextEncoder().encode(text);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49]);

function row(topic = 'home/temp'): TreeRow {
  return {
    id: 3,
    depth: 2,
    name: topic.split('/').pop() ?? topic,
    topic,
    ownCount: 2,
    subtreeCount: 2,
    hasChildren: false,
    expanded: false,
    retained: false,
    lastTimeMs: 0,
    rate: 0,
    preview: '',
    payloadLen: 0,
  };
}

const message = (payload: Uint8Array, timeMs = 1_700_000_000_000): StoredMessage => ({
  timeMs,
  qos: 1,
  retain: false,
  payload,
  properties: [],
});

/** Newest first, as the backend sends them. */
function render(messages: StoredMessage[], topic?: string, extra: Record<string, unknown> = {}) {
  const platform = {
    trafficMessages: vi.fn(async () => messages),
    trafficDeleteRetained: vi.fn(async () => 1),
    saveToDownloads: vi.fn(async (name: string) => `/home/me/Downloads/${name}`),
  } as unknown as Platform;
  const target = document.createElement('div');
  document.body.append(target);
  const inspector = mount(Inspector, {
    target,
    props: { platform, source: brokerSource, row: row(topic), ...extra },
  });
  return {
    target,
    platform,
    destroy: () => {
      unmount(inspector);
      target.remove();
    },
  };
}

async function settle() {
  for (let i = 0; i < 5; i++) {
    flushSync();
    await Promise.resolve();
    await tick();
  }
}

const byTestId = (root: HTMLElement, id: string) =>
  root.querySelector<HTMLElement>(`[data-testid="${id}"]`);

async function choose(root: HTMLElement, view: string) {
  const tab = byTestId(root, `view-${view}`) as HTMLButtonElement;
  expect(tab.disabled).toBe(false);
  tab.click();
  await settle();
}

let created: string[];
let revoked: string[];
beforeEach(() => {
  created = [];
  revoked = [];
  // jsdom has no blob: URLs.
  vi.stubGlobal('URL', {
    ...URL,
    createObjectURL: vi.fn((blob: Blob) => {
      const url = `blob:test/${created.length}-${blob.type}`;
      created.push(url);
      return url;
    }),
    revokeObjectURL: vi.fn((url: string) => revoked.push(url)),
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  setLocale('en');
});

describe('payload inspector', () => {
  it('shows the message header and the views as tabs', async () => {
    const { target, destroy } = render([message(utf8('{"t":21.5}'))]);
    await settle();
    const header = byTestId(target, 'message-header')?.textContent ?? '';
    expect(header).toContain('QoS 1');
    expect(header).toContain('Retain no');
    expect(header).toContain('10 bytes');
    expect(header).toContain('JSON');
    const tabs = [...target.querySelectorAll('[role="tab"]')].map((tab) => tab.textContent);
    expect(tabs).toEqual(['Text', 'JSON', 'Hex', 'Base64', 'Image', 'Diff']);
    expect((byTestId(target, 'view-image') as HTMLButtonElement).disabled).toBe(true);
    expect((byTestId(target, 'view-diff') as HTMLButtonElement).disabled).toBe(true);
    // JSON opens formatted.
    expect(byTestId(target, 'view-json')?.getAttribute('aria-selected')).toBe('true');
    expect(byTestId(target, 'payload')?.textContent).toBe('{\n  "t": 21.5\n}');
    await choose(target, 'text');
    expect(byTestId(target, 'payload')?.textContent).toBe('{"t":21.5}');
    await choose(target, 'base64');
    expect(byTestId(target, 'payload')?.textContent).toBe('eyJ0IjoyMS41fQ==');
    await choose(target, 'hex');
    expect(byTestId(target, 'payload')?.textContent).toContain('7b 22 74 22');
    destroy();
  });

  it('shows a PNG payload as an image from a blob: URL, released afterwards', async () => {
    const { target, destroy } = render([message(PNG)], 'cam/front');
    await settle();
    // Images open in the image view.
    const image = byTestId(target, 'payload-image') as HTMLImageElement;
    expect(image.tagName).toBe('IMG');
    expect(image.getAttribute('src')).toMatch(/^blob:/);
    expect(created).toEqual(['blob:test/0-image/png']);
    await choose(target, 'hex');
    expect(byTestId(target, 'payload-image')).toBeNull();
    expect(revoked).toEqual(['blob:test/0-image/png']);
    await choose(target, 'image');
    expect(byTestId(target, 'payload-image')?.getAttribute('src')).toBe('blob:test/1-image/png');
    destroy();
    expect(revoked).toEqual(['blob:test/0-image/png', 'blob:test/1-image/png']);
  });

  it('makes invalid UTF-8 bytes and control characters visible in the text view', async () => {
    const { target, destroy } = render([message(new Uint8Array([0x68, 0x69, 0xff, 0x00, 0x21]))]);
    await settle();
    const payload = byTestId(target, 'payload');
    expect(payload?.textContent).toBe('hi\\xFF\u2400!');
    expect(payload?.querySelector('.marker.invalid')?.textContent).toBe('\\xFF');
    expect(byTestId(target, 'invalid-bytes')?.textContent).toContain('1 invalid byte');
    destroy();
  });

  it('shows markup in a payload literally, as text', async () => {
    const hostile = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    const { target, destroy } = render([message(utf8(hostile))]);
    await settle();
    expect(byTestId(target, 'payload')?.textContent).toBe(hostile);
    expect(target.querySelector('img')).toBeNull();
    expect(target.querySelector('script')).toBeNull();
    destroy();
  });

  it('shows markup in JSON keys and values as text in the tree', async () => {
    const json = '{"<b>k</b>":"<script>alert(1)</script>","list":[1,{"<img src=x>":null}]}';
    const { target, destroy } = render([message(utf8(json))]);
    await settle();
    await choose(target, 'json');
    (byTestId(target, 'json-tree-mode') as HTMLButtonElement).click();
    await settle();
    const tree = byTestId(target, 'json-tree');
    // Two levels start open; deeper ones render their children when opened.
    expect(tree?.querySelectorAll('details[open]').length).toBe(2);
    expect(tree?.textContent).not.toContain('<img src=x>');
    tree?.querySelectorAll('summary')[2]?.click();
    await new Promise((resolve) => setTimeout(resolve, 0)); // the toggle event is queued
    await settle();
    expect(tree?.textContent).toContain('<b>k</b>');
    expect(tree?.textContent).toContain('"<script>alert(1)</script>"');
    expect(tree?.textContent).toContain('<img src=x>');
    expect(tree?.textContent).toContain('2 items');
    expect(tree?.querySelectorAll('details').length).toBe(3);
    expect(target.querySelector('b, script, img')).toBeNull();
    destroy();
  });

  it('offers to chart the numbers of the JSON tree by their pointer', async () => {
    const onchart = vi.fn();
    const json = '{"a/b":[21.5,{"x":true}],"s":"text"}';
    const { target, destroy } = render([message(utf8(json))], undefined, { onchart });
    await settle();
    await choose(target, 'json');
    (byTestId(target, 'json-tree-mode') as HTMLButtonElement).click();
    await settle();
    const buttons = [...target.querySelectorAll<HTMLButtonElement>('[data-testid="json-chart"]')];
    expect(buttons.map((b) => b.title)).toEqual(['Chart /a~1b/0 over the kept messages']);
    buttons[0]!.click();
    expect(onchart).toHaveBeenCalledWith('/a~1b/0');
    // The chart list offers the same fields, the closed ones included.
    const pick = byTestId(target, 'chart-value') as HTMLSelectElement;
    expect([...pick.options].map((o) => o.value)).toEqual(['rate', '/a~1b/0', '/a~1b/1/x']);
    destroy();
  });

  it('offers to chart a bare number payload as itself', async () => {
    const onchart = vi.fn();
    const { target, destroy } = render([message(utf8('21.5\n'))], undefined, { onchart });
    await settle();
    const pick = byTestId(target, 'chart-value') as HTMLSelectElement;
    expect([...pick.options].map((o) => [o.value, o.textContent])).toEqual([
      ['rate', 'Message rate'],
      ['', 'Value: the payload'],
    ]);
    pick.value = '';
    pick.dispatchEvent(new Event('change', { bubbles: true }));
    expect(onchart).toHaveBeenCalledWith('');
    destroy();
  });

  it('reads CBOR and MessagePack payloads in diagnostic notation', async () => {
    const cbor = new Uint8Array([0xa2, 0x61, 0x61, 0x01, 0x61, 0x62, 0x82, 0x02, 0x43, 1, 2, 3]);
    let view = render([message(cbor)]);
    await settle();
    // A CBOR map opens as CBOR; its byte string is spelled out.
    expect(byTestId(view.target, 'payload')?.textContent).toBe(
      '{\n  "a": 1,\n  "b": [\n    2,\n    h\'010203\'\n  ]\n}',
    );
    expect((byTestId(view.target, 'view-cbor') as HTMLButtonElement).getAttribute('aria-selected'))
      .toBe('true');
    view.destroy();

    const msgpack = new Uint8Array([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0xc3]);
    view = render([message(msgpack)]);
    await settle();
    await choose(view.target, 'msgpack');
    expect(byTestId(view.target, 'payload')?.textContent).toBe('{\n  "a": 1,\n  "b": true\n}');
    view.destroy();

    // Text is never offered as CBOR or MessagePack.
    view = render([message(utf8('7'))]);
    await settle();
    expect(byTestId(view.target, 'view-cbor')).toBeNull();
    expect(byTestId(view.target, 'view-msgpack')).toBeNull();
    view.destroy();
  });

  it('diffs JSON against the message before it, marking the changed field', async () => {
    const { target, destroy } = render([
      message(utf8('{"t":22,"h":40}'), 2000),
      message(utf8('{"t":21.5,"h":40}'), 1000),
      message(utf8('{"t":21,"h":41}'), 500),
    ]);
    await settle();
    await choose(target, 'diff');
    let diff = byTestId(target, 'payload-diff');
    expect(diff?.querySelector('.removed')?.textContent).toContain('"t": 21.5,');
    expect(diff?.querySelector('.added')?.textContent).toContain('"t": 22,');
    expect(diff?.querySelectorAll('.added, .removed')).toHaveLength(2);
    // An older message is diffed against the one before it.
    (target.querySelectorAll('.history button')[1] as HTMLButtonElement).click();
    await settle();
    diff = byTestId(target, 'payload-diff');
    expect([...(diff?.querySelectorAll('.removed') ?? [])].map((l) => l.textContent)).toEqual([
      '−  "t": 21,',
      '−  "h": 41',
    ]);
    // The oldest has nothing to compare with.
    (target.querySelectorAll('.history button')[2] as HTMLButtonElement).click();
    await settle();
    expect((byTestId(target, 'view-diff') as HTMLButtonElement).disabled).toBe(true);
    expect(byTestId(target, 'payload-diff')).toBeNull();
    destroy();
  });

  it('summarises binary differences in bytes', async () => {
    const { target, destroy } = render([
      message(new Uint8Array([0, 1, 2, 9])),
      message(new Uint8Array([0, 1, 2, 3])),
    ]);
    await settle();
    await choose(target, 'diff');
    const diff = byTestId(target, 'payload-diff')?.textContent ?? '';
    expect(diff).toContain('Binary payloads: 4 bytes before, 4 bytes now.');
    expect(diff).toContain('1 byte differs; the first difference is at offset 0x3.');
    destroy();
  });

  it('shows only the first 64 KiB of a large payload and saves all of it', async () => {
    const big = new Uint8Array(70_000).fill(0x61);
    const { target, platform, destroy } = render([message(big)], 'logs/<big>');
    await settle();
    expect(byTestId(target, 'payload')?.textContent).toHaveLength(65_536);
    expect(byTestId(target, 'payload-truncated')?.textContent).toContain(
      'Showing the first 64 KiB of 70000 bytes.',
    );
    await choose(target, 'base64');
    expect(byTestId(target, 'payload')?.textContent).toHaveLength(Math.ceil(65_536 / 3) * 4);

    // The whole payload is saved (by the backend, into Downloads), not the 64 KiB shown.
    (byTestId(target, 'save-payload') as HTMLButtonElement).click();
    await settle();
    const save = vi.mocked(platform.saveToDownloads);
    expect(save).toHaveBeenCalledTimes(1);
    expect(save.mock.calls[0]![0]).toBe('logs-_big.txt');
    expect(save.mock.calls[0]![1]).toHaveLength(70_000);
    expect(byTestId(target, 'save-note')?.textContent).toBe(
      'Saved to /home/me/Downloads/logs-_big.txt',
    );
    destroy();
  });

  it('copies the topic and the payload and says whether the clipboard took them', async () => {
    const writeText = vi.fn<(text: string) => Promise<void>>(async () => {});
    vi.stubGlobal('navigator', { clipboard: { writeText } });
    const { target, destroy } = render([message(utf8('21.5'))], 'home/<b>temp</b>');
    await settle();
    byTestId(target, 'copy-topic')!.click();
    await settle();
    expect(writeText).toHaveBeenLastCalledWith('home/<b>temp</b>');
    expect(byTestId(target, 'copy-note')?.textContent).toBe('Topic copied to the clipboard.');
    byTestId(target, 'copy-payload')!.click();
    await settle();
    expect(writeText).toHaveBeenLastCalledWith('21.5');
    expect(byTestId(target, 'copy-note')?.textContent).toBe('Payload copied to the clipboard.');
    writeText.mockRejectedValueOnce(new Error('not allowed'));
    byTestId(target, 'copy-topic')!.click();
    await settle();
    expect(byTestId(target, 'copy-note')?.textContent).toBe('Could not copy: not allowed');
    destroy();
  });

  it('switches language at run time', async () => {
    const { target, destroy } = render([message(utf8('hello'))]);
    await settle();
    expect(byTestId(target, 'save-payload')?.textContent).toBe('Save to file');
    setLocale('zh-CN');
    await settle();
    expect(byTestId(target, 'save-payload')?.textContent).toBe('保存到文件');
    expect(byTestId(target, 'view-text')?.textContent).toBe('文本');
    destroy();
  });
});
