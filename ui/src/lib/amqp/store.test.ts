import { describe, expect, it } from 'vitest';
import { AmqpSessions, isAmqpSource } from './store.svelte';
import { amqpView, fakeAmqp } from './testing';
import { settle } from '../session/testing.svelte';
import { sessionSource } from '../platform';
import { describeAmqpState, dotClass } from './words';
import { setLocale } from '../i18n/index.svelte';

describe('AMQP sessions of a window', () => {
  it('keeps a state pushed before the list answered, and learns sessions saved elsewhere', async () => {
    const fake = fakeAmqp([amqpView('amqp-1', 'disconnected')]);
    const store = new AmqpSessions();
    let answer: (list: ReturnType<typeof amqpView>[]) => void = () => {};
    const slow = {
      ...fake.calls,
      profiles: () => new Promise<ReturnType<typeof amqpView>[]>((resolve) => (answer = resolve)),
    };
    store.follow(slow);
    await settle();
    fake.pushState('amqp-1', 'connected');
    answer([amqpView('amqp-1', 'disconnected')]);
    await settle();
    expect(store.find('amqp-1')?.state).toBe('connected');
    // Another window saved amqp-2: its first pushed state makes this one read the list again.
    slow.profiles = () => Promise.resolve([amqpView('amqp-1'), amqpView('amqp-2')]);
    fake.pushState('amqp-2', 'connecting');
    await settle();
    expect(isAmqpSource(sessionSource('amqp-2'), store)).toBe(true);
    expect(isAmqpSource({ kind: 'proxy', id: 'amqp-2' }, store)).toBe(false);
  });

  it('ends the consumers of a session that is no longer connected', async () => {
    const fake = fakeAmqp([amqpView('amqp-1', 'connected')]);
    const store = new AmqpSessions();
    store.follow(fake.calls);
    await settle();
    store.started('amqp-1', { tag: 'c1', queue: 'q', ack: 'manual', prefetch: 1 });
    fake.pushUnsettled({
      id: 'amqp-1',
      consumerTag: 'c1',
      deliveries: [
        { deliveryTag: 1, exchange: '', routingKey: 'q', redelivered: false, size: 1, preview: 'a' },
      ],
      dropped: 0,
    });
    expect(store.consumers['amqp-1']?.[0]?.pending).toHaveLength(1);
    fake.pushState('amqp-1', { lost: { code: 'ConnectionClosed', message: 'closed by admin' } });
    expect(store.consumers['amqp-1']?.[0]).toMatchObject({ pending: [], ended: { failure: null } });
    const lost = store.find('amqp-1')!.state;
    expect(dotClass(lost)).toBe('failed');
    expect(describeAmqpState(lost)).toBe('Connection lost: closed by admin');
    setLocale('zh-CN');
    expect(describeAmqpState(lost)).toBe('连接已断开：代理关闭了连接：closed by admin');
    setLocale('en');
  });

  it('lists the consumers the backend runs, keeping ended ones until closed', async () => {
    const fake = fakeAmqp([amqpView('amqp-1', 'connected')]);
    const store = new AmqpSessions();
    store.follow(fake.calls);
    await settle();
    store.started('amqp-1', { tag: 'old', queue: 'q', ack: 'manual', prefetch: 1 });
    store.ended({ id: 'amqp-1', consumerTag: 'old', failure: null });
    store.loaded('amqp-1', [
      {
        consumerTag: 'other-window',
        queue: 'tasks',
        ack: 'manual',
        prefetch: 3,
        deliveries: [
          { deliveryTag: 7, exchange: '', routingKey: 'tasks', redelivered: true, size: 2, preview: 'hi' },
        ],
        dropped: 0,
      },
    ]);
    expect(store.consumers['amqp-1']?.map((c) => [c.tag, c.queue, c.pending.length, !!c.ended])).toEqual([
      ['old', 'q', 0, true],
      ['other-window', 'tasks', 1, false],
    ]);
  });
});
