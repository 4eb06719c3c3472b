import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import QueuesView from './QueuesView.svelte';
import type { Platform } from '../../platform';
import type { QueueCalls, QueueSnapshot } from '../../platform/amqpQueues';
import { setLocale } from '../../i18n/index.svelte';
import '../../i18n/catalogs';
import { queue, reading } from './testing';

async function settle() {
  for (let i = 0; i < 5; i++) {
    flushSync();
    await Promise.resolve();
    await tick();
  }
}

/** Fake backend calls: `push` delivers a reading to the view's watcher. */
function fakeCalls() {
  let push: (s: QueueSnapshot) => void = () => {};
  const calls = {
    watch: vi.fn(async (_id: string, onSnapshot: (s: QueueSnapshot) => void) => {
      push = onSnapshot;
      return 7;
    }),
    unwatch: vi.fn(async () => {}),
    chart: vi.fn<QueueCalls['chart']>(async () => '<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
  } satisfies QueueCalls;
  return { calls, push: (s: QueueSnapshot) => push(s) };
}

const platform = { kind: 'tauri' } as unknown as Platform;
let view: ReturnType<typeof mount> | null = null;

function show(calls: QueueCalls) {
  const target = document.createElement('div');
  document.body.append(target);
  view = mount(QueuesView, { target, props: { platform, id: 'amqp-1', calls } });
  return target;
}

const rowNames = (target: HTMLElement) =>
  [...target.querySelectorAll('[data-testid="amqp-queue-row"]')].map((r) =>
    r.getAttribute('data-queue'),
  );

afterEach(() => {
  if (view) unmount(view);
  view = null;
  document.body.replaceChildren();
  setLocale('en');
});

describe('QueuesView', () => {
  it('lists each reading, sorts by a column and stops watching when closed', async () => {
    setLocale('en');
    const { calls, push } = fakeCalls();
    const target = show(calls);
    await settle();
    expect(calls.watch).toHaveBeenCalledWith('amqp-1', expect.any(Function));
    expect(target.querySelector('[data-testid="amqp-queues-loading"]')).not.toBeNull();

    push(
      reading([
        queue('emails', { messages: 40, messagesReady: 40, durable: true }),
        queue('<b>orders</b>', {
          messages: 5,
          messagesReady: 3,
          messagesUnacknowledged: 2,
          consumers: 1,
          publishRate: 2.5,
        }),
      ]),
    );
    await settle();
    expect(rowNames(target)).toEqual(['<b>orders</b>', 'emails']);
    // A queue's name is text, never markup.
    expect(target.querySelector('tbody b')).toBeNull();
    const orders = target.querySelector('[data-queue="<b>orders</b>"]')!;
    expect(orders.querySelector('[data-testid="amqp-queue-total"]')!.textContent).toBe('5');
    expect(orders.querySelector('[data-testid="amqp-queue-unacked"]')!.textContent).toBe('2');
    expect(orders.textContent).toContain('2.50/s');
    expect(target.querySelector('[data-testid="amqp-queues-count"]')!.textContent).toContain(
      '2 of 2 queues',
    );

    (target.querySelector('[data-testid="amqp-queues-sort-total"]') as HTMLButtonElement).click();
    await settle();
    expect(rowNames(target)).toEqual(['emails', '<b>orders</b>']);
    const header = target.querySelector('[data-testid="amqp-queues-sort-total"]')!.parentElement!;
    expect(header.getAttribute('aria-sort')).toBe('descending');

    // The next reading moves the numbers; the sort stays.
    push(reading([queue('emails', { messages: 1 }), queue('<b>orders</b>', { messages: 9 })]));
    await settle();
    expect(rowNames(target)).toEqual(['<b>orders</b>', 'emails']);

    unmount(view!);
    view = null;
    expect(calls.unwatch).toHaveBeenCalledWith('amqp-1', 7);
  });

  it('charts the selected queue and tells a failed reading in words, keeping the list', async () => {
    setLocale('zh-CN');
    const { calls, push } = fakeCalls();
    const target = show(calls);
    await settle();
    push(reading([queue('jobs', { messages: 3 })], 1_700_000_000_000));
    await settle();
    expect(target.querySelector('[data-testid="amqp-queues-select"]')).not.toBeNull();
    (target.querySelector('[data-queue="jobs"] button') as HTMLButtonElement).click();
    await settle();
    expect(calls.chart).toHaveBeenCalled();
    const [id, name, , , , , label] = calls.chart.mock.calls[0]!;
    expect([id, name, label]).toEqual(['amqp-1', 'jobs', '消息数（就绪 + 未确认）']);
    const image = target.querySelector('[data-testid="amqp-queue-chart-image"]')!;
    expect(image.getAttribute('src')).toMatch(/^blob:/);

    push({
      ...reading([queue('jobs', { messages: 3 })], 1_700_000_000_000),
      atMs: 1_700_000_004_000,
      failure: { code: 'AccessRefused', message: 'access refused: 401' },
    });
    await settle();
    const failure = target.querySelector('[data-testid="amqp-queues-failure"]')!;
    expect(failure.textContent).toContain('无法读取队列：access refused: 401');
    expect(rowNames(target)).toEqual(['jobs']);

    // A queue that went drops its chart.
    push(reading([queue('other')]));
    await settle();
    expect(target.querySelector('[data-testid="amqp-queue-chart"]')).toBeNull();
    expect(target.querySelector('[data-testid="amqp-queues-failure"]')).toBeNull();
  });

  it('says why it cannot watch (no management port) and filters by name', async () => {
    const refused = fakeCalls();
    refused.calls.watch.mockRejectedValueOnce(new Error('"Local" has no management port'));
    let target = show(refused.calls);
    await settle();
    expect(target.querySelector('[data-testid="amqp-queues-refused"]')!.textContent).toContain(
      'no management port',
    );
    unmount(view!);
    view = null;
    expect(refused.calls.unwatch).not.toHaveBeenCalled();

    const { calls, push } = fakeCalls();
    target = show(calls);
    await settle();
    push(reading([queue('hello'), queue('orders'), queue('order-dlq')]));
    await settle();
    const input = target.querySelector('[data-testid="amqp-queues-filter"]') as HTMLInputElement;
    input.value = 'ORDER';
    input.dispatchEvent(new Event('input'));
    await settle();
    expect(rowNames(target)).toEqual(['order-dlq', 'orders']);
  });
});
