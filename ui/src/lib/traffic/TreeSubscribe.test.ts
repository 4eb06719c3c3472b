import { afterEach, describe, expect, it, vi } from 'vitest';
import { mount, unmount } from 'svelte';
import TreeSubscribe from './TreeSubscribe.svelte';
import TopicTree from './TopicTree.svelte';
import {
  brokerSource,
  sessionSource,
  type Platform,
  type SessionView,
  type SessionsOverview,
  type SourceId,
  type Subscription,
  type SubscriptionStatus,
  type TrafficFrame,
} from '../platform';
import { setLocale } from '../i18n/index.svelte';
import { byTestId, sessionView, settle, type } from '../session/testing.svelte';
import { filtersFor, offersSubscribe, subscriberFor, treeQos, withView } from './treeSubscribe.svelte';

const connected = { state: 'Connected', since: 0, resumed: false } as const;
const app = () =>
  sessionView({ id: 'workbench', name: 'This app', clientId: 'mqtt-workbench' }, connected, {
    appSession: true,
  });
const sensor = (state: SessionView['state'] = connected) =>
  sessionView({ id: 's1', name: 'sensor' }, state);

/** A fake backend holding the sessions: subscribe and unsubscribe change them as it would. */
function fakePlatform(initial: SessionView[], answer: SubscriptionStatus = { status: 'Pending' }) {
  let sessions = initial;
  let push: ((overview: SessionsOverview) => void) | null = null;
  const overview = (): SessionsOverview => ({
    sessions,
    passwordStorage: 'Keychain',
    passwordNote: null,
    profilesFile: null,
    warning: null,
  });
  const change = (id: string, edit: (view: SessionView) => SessionView) => {
    sessions = sessions.map((s) => (s.profile.id === id ? edit(s) : s));
    return sessions.find((s) => s.profile.id === id)!;
  };
  const platform = {
    sessionList: vi.fn(async () => overview()),
    onSessionsChanged: vi.fn(async (listener: (o: SessionsOverview) => void) => {
      push = listener;
      return () => {};
    }),
    sessionSubscribe: vi.fn(async (id: string, subscription: Subscription) =>
      change(id, (s) => ({
        ...s,
        subscriptions: [
          ...s.subscriptions.filter((x) => x.subscription.filter !== subscription.filter),
          { subscription, status: answer },
        ],
      })),
    ),
    sessionUnsubscribe: vi.fn(async (id: string, filter: string) =>
      change(id, (s) => ({
        ...s,
        subscriptions: s.subscriptions.filter((x) => x.subscription.filter !== filter),
      })),
    ),
    sessionConnect: vi.fn(async (id: string) => change(id, (s) => s)),
    trafficView: async () => {},
    trafficExpand: async () => {},
  };
  /** The backend pushes a change (e.g. the SUBACK arrived). */
  const pushStatus = (id: string, filter: string, status: SubscriptionStatus) => {
    change(id, (s) => ({
      ...s,
      subscriptions: s.subscriptions.map((x) =>
        x.subscription.filter === filter ? { ...x, status } : x,
      ),
    }));
    push?.(overview());
  };
  return { platform: platform as unknown as Platform, calls: platform, pushStatus };
}

const mounted: (() => void)[] = [];
function render(platform: Platform, source: SourceId, topic = 'plant/line1') {
  const target = document.createElement('div');
  document.body.append(target);
  const pane = mount(TreeSubscribe, { target, props: { platform, source, topic } });
  mounted.push(() => {
    unmount(pane);
    target.remove();
  });
  return target;
}

afterEach(() => {
  mounted.splice(0).forEach((destroy) => destroy());
  treeQos.value = 0;
  setLocale('en');
});

describe('which session subscribes from a tree', () => {
  it('the broker: the app session; an MQTT session: it; anything else: none', () => {
    const list = [sensor(), app()];
    expect(subscriberFor(brokerSource, list)?.profile.id).toBe('workbench');
    expect(subscriberFor(sessionSource('s1'), list)?.profile.id).toBe('s1');
    // An AMQP session is not in the MQTT list: nothing offered.
    expect(subscriberFor(sessionSource('amqp-1'), list)).toBeNull();
    expect(offersSubscribe(sessionSource('amqp-1'), list)).toBe(false);
    expect(offersSubscribe({ kind: 'proxy', id: '1884' } as SourceId, list)).toBe(false);
    // The broker before its first start: offered, with the words saying how.
    expect(offersSubscribe(brokerSource, [sensor()])).toBe(true);
    expect(subscriberFor(brokerSource, [sensor()])).toBeNull();
  });

  it('offers the topic and its subtree; the empty first level only its subtree', () => {
    expect(filtersFor('a/b').map((f) => f.filter)).toEqual(['a/b', 'a/b/#']);
    expect(filtersFor('').map((f) => f.filter)).toEqual(['/#']);
    const newer = { ...sensor(), url: 'changed' };
    expect(withView([app(), sensor()], newer).map((s) => s.url)).toEqual([app().url, 'changed']);
  });
});

describe('subscribing from the detail pane', () => {
  it('the app session subscribes on the broker source; the SUBACK shows; unsubscribes', async () => {
    const fake = fakePlatform([sensor(), app()]);
    const target = render(fake.platform, brokerSource);
    await settle();
    expect(byTestId(target, 'tree-sub-who').textContent).toContain('This app');
    type(byTestId(target, 'tree-sub-qos'), '1');
    byTestId(target, 'tree-subscribe-subtree').click();
    await settle();
    expect(fake.calls.sessionSubscribe).toHaveBeenCalledWith('workbench', {
      filter: 'plant/line1/#',
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 'SendAlways',
      identifier: null,
    });
    const row = target.querySelector('[data-filter="plant/line1/#"]') as HTMLElement;
    expect(byTestId(row, 'tree-sub-status').textContent).toBe('QoS 1 · Pending');
    fake.pushStatus('workbench', 'plant/line1/#', { status: 'Granted', qos: 1 });
    await settle();
    expect(byTestId(row, 'tree-sub-status').textContent).toBe('Granted QoS 1');
    // The other filter is still offered.
    const exact = target.querySelector('[data-filter="plant/line1"]') as HTMLElement;
    expect(byTestId(exact, 'tree-sub-status').textContent).toBe('Not subscribed');
    byTestId(row, 'tree-unsubscribe').click();
    await settle();
    expect(fake.calls.sessionUnsubscribe).toHaveBeenCalledWith('workbench', 'plant/line1/#');
    expect(byTestId(row, 'tree-sub-status').textContent).toBe('Not subscribed');
  });

  it('says a refusal in words, in both languages', async () => {
    const refused = { status: 'Refused', reason: 'Not authorized', code: 0x87 } as const;
    const fake = fakePlatform([app()], refused);
    const target = render(fake.platform, brokerSource);
    await settle();
    byTestId(target, 'tree-subscribe-topic').click();
    await settle();
    const row = target.querySelector('[data-filter="plant/line1"]') as HTMLElement;
    expect(byTestId(row, 'tree-sub-status').textContent).toMatch(/^QoS 0 · Refused — .*authori/i);
    setLocale('zh-CN');
    await settle();
    expect(target.textContent).not.toMatch(/treesub\.|session\.sub/);
    expect(byTestId(target, 'tree-unsubscribe').textContent).toBe('取消订阅');
  });

  it("a session's own source: that session, and when it is not connected, says so", async () => {
    const fake = fakePlatform([app(), sensor({ state: 'Disconnected' })]);
    const target = render(fake.platform, sessionSource('s1'));
    await settle();
    expect(byTestId(target, 'tree-sub-who').textContent).toContain('“sensor”');
    expect(byTestId(target, 'tree-sub-note').textContent).toContain('“sensor” is not connected');
    byTestId(target, 'tree-subscribe-topic').click();
    await settle();
    expect(fake.calls.sessionSubscribe.mock.calls[0]?.[0]).toBe('s1');
    byTestId(target, 'tree-sub-connect').click();
    await settle();
    expect(fake.calls.sessionConnect).toHaveBeenCalledWith('s1');
  });

  it('the broker stopped: the app session is not connected, or not there yet, in words', async () => {
    const offline = { ...app(), state: { state: 'Disconnected' } } as SessionView;
    const fake = fakePlatform([offline]);
    const target = render(fake.platform, brokerSource);
    await settle();
    expect(byTestId(target, 'tree-sub-note').textContent).toContain(
      'The embedded broker is not running',
    );
    expect(target.querySelector('[data-testid="tree-sub-connect"]')).toBeNull();
    const none = render(fakePlatform([]).platform, brokerSource);
    await settle();
    expect(byTestId(none, 'tree-sub-note').textContent).toContain('Start the embedded broker');
    expect(none.querySelector('[data-testid="tree-subscribe-topic"]')).toBeNull();
  });

  it('an AMQP source (not an MQTT session) offers no MQTT subscribe', async () => {
    const fake = fakePlatform([app(), sensor()]);
    const target = render(fake.platform, sessionSource('amqp-7'));
    await settle();
    expect(target.querySelector('[data-testid="tree-subscribe"]')).toBeNull();
  });

  it('shows an error from the backend in words', async () => {
    const fake = fakePlatform([app()]);
    fake.calls.sessionSubscribe.mockRejectedValueOnce(new Error('the broker went away'));
    const target = render(fake.platform, brokerSource);
    await settle();
    byTestId(target, 'tree-subscribe-topic').click();
    await settle();
    expect(byTestId(target, 'tree-sub-error').textContent).toContain('the broker went away');
  });
});

const frame: TrafficFrame = {
  viewer: 1,
  source: brokerSource,
  rows: [
    {
      id: 4,
      depth: 1,
      name: 'plant',
      topic: 'plant',
      ownCount: 1,
      subtreeCount: 1,
      hasChildren: false,
      expanded: false,
      retained: false,
      lastTimeMs: 0,
      rate: 0,
      preview: 'x',
      payloadLen: 1,
    },
  ],
  rowCount: 1,
  from: 0,
  topics: 1,
  messages: 1,
  rateIn: 0,
  rateOut: 0,
  historyBytes: 0,
  packets: 0,
  dropped: 0,
  topicsNotShown: 0,
  messagesNotShown: 0,
};

function renderTree(platform: Platform, source: SourceId = brokerSource) {
  const target = document.createElement('div');
  document.body.append(target);
  const onselect = vi.fn();
  const tree = mount(TopicTree, {
    target,
    props: { platform, source, viewer: 1, frame, selected: frame.rows[0]!, onselect },
  });
  mounted.push(() => {
    unmount(tree);
    target.remove();
  });
  return { target, onselect };
}

describe("the tree's menu", () => {
  it('opens with Shift+F10 on the selected topic, and subscribes from the keyboard', async () => {
    const fake = fakePlatform([app()]);
    const { target } = renderTree(fake.platform);
    await settle();
    const tree = byTestId(target, 'topic-tree');
    tree.dispatchEvent(new KeyboardEvent('keydown', { key: 'F10', shiftKey: true, bubbles: true }));
    await settle();
    const menu = byTestId(target, 'tree-menu');
    const items = [...menu.querySelectorAll<HTMLButtonElement>('[role="menuitem"]')];
    expect(items.map((i) => i.textContent)).toEqual([
      'Subscribe to plant (QoS 0)',
      'Subscribe to plant/# (QoS 0)',
    ]);
    expect(document.activeElement).toBe(items[0]);
    menu.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    expect(document.activeElement).toBe(items[1]);
    items[1]!.click();
    await settle();
    expect(fake.calls.sessionSubscribe.mock.calls[0]?.slice(0, 1)).toEqual(['workbench']);
    expect(fake.calls.sessionSubscribe.mock.calls[0]?.[1].filter).toBe('plant/#');
    expect(target.querySelector('[data-testid="tree-menu"]')).toBeNull();
    // Opened again: the subscribed filter now offers Unsubscribe.
    const row = target.querySelector('[data-topic="plant"]') as HTMLElement;
    row.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true }));
    await settle();
    const again = byTestId(target, 'tree-menu');
    expect(byTestId(again, 'tree-menu-unsubscribe').textContent).toBe('Unsubscribe from plant/#');
    again.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    await settle();
    expect(target.querySelector('[data-testid="tree-menu"]')).toBeNull();
    expect(document.activeElement).toBe(tree);
  });

  it('is not offered on a source no MQTT session subscribes for', async () => {
    const fake = fakePlatform([app()]);
    const { target } = renderTree(fake.platform, sessionSource('amqp-7'));
    await settle();
    const row = target.querySelector('[data-topic="plant"]') as HTMLElement;
    const event = new MouseEvent('contextmenu', { bubbles: true, cancelable: true });
    row.dispatchEvent(event);
    await settle();
    expect(event.defaultPrevented).toBe(false);
    expect(target.querySelector('[data-testid="tree-menu"]')).toBeNull();
  });
});
