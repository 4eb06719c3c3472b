import { afterEach, describe, expect, it } from 'vitest';
import { mount, unmount } from 'svelte';
import AmqpPanel from './AmqpPanel.svelte';
import AmqpSources from './AmqpSources.svelte';
import { AmqpSessions, isAmqpSource } from './store.svelte';
import { amqpView, fakeAmqp } from './testing';
import { byTestId, check, settle, type } from '../session/testing.svelte';
import { setLocale } from '../i18n/index.svelte';
import { brokerSource, sessionSource, type Platform, type SourceId } from '../platform';

const platform = { kind: 'unavailable' } as Platform;

function place() {
  const target = document.createElement('div');
  document.body.append(target);
  return target;
}

afterEach(() => {
  setLocale('en');
  document.body.replaceChildren();
});

async function panel(state: Parameters<typeof amqpView>[1] = 'connected') {
  const fake = fakeAmqp([amqpView('amqp-1', state)]);
  const store = new AmqpSessions();
  store.follow(fake.calls);
  const target = place();
  const view = mount(AmqpPanel, { target, props: { platform, id: 'amqp-1', calls: fake.calls, store } });
  await settle();
  return { fake, store, target, view };
}

describe('AMQP sources', () => {
  it('lists AMQP sessions marked AMQP, and a new one is saved without its password in the URL', async () => {
    const fake = fakeAmqp([amqpView('amqp-1', 'connected')]);
    fake.notes = ['No keychain answered: passwords are kept for this session only.'];
    const store = new AmqpSessions();
    const selected: [SourceId, string | undefined][] = [];
    const target = place();
    const view = mount(AmqpSources, {
      target,
      props: {
        platform,
        source: brokerSource,
        calls: fake.calls,
        store,
        onselect: (source: SourceId, tab?: string) => selected.push([source, tab]),
      },
    });
    await settle();
    expect(byTestId(target, 'amqp-note').textContent).toContain('No keychain answered');
    const row = byTestId(target, 'source-amqp');
    expect(row.textContent).toContain('AMQP');
    expect(row.textContent).toContain('rabbit');
    expect(row.querySelector('.dot.running')).not.toBeNull();
    expect(isAmqpSource(sessionSource('amqp-1'), store)).toBe(true);
    expect(isAmqpSource(sessionSource('mqtt-1'), store)).toBe(false);

    byTestId(target, 'new-amqp').click();
    await settle();
    type(byTestId(target, 'amqp-url'), 'amqp://alice:pw@rabbit.local:5672/orders');
    await settle();
    expect(byTestId(target, 'amqp-url-password').textContent).toContain('keychain');
    expect(byTestId(target, 'amqp-url-reads').textContent).toContain('vhost orders');
    type(byTestId(target, 'amqp-management-port'), '99999');
    byTestId(target, 'amqp-save').click();
    await settle();
    expect(byTestId(target, 'amqp-form-error').textContent).toContain('99999');
    expect(fake.made).toEqual([]);
    type(byTestId(target, 'amqp-management-port'), '15672');
    byTestId(target, 'amqp-save').click();
    await settle();
    expect(fake.made).toEqual([
      [
        'saveProfile',
        {
          id: '',
          name: 'rabbit.local orders',
          url: 'amqp://alice@rabbit.local:5672/orders',
          managementPort: 15672,
          caFile: null,
        },
        'pw',
      ],
    ]);
    expect(selected).toEqual([[sessionSource('amqp-new'), 'settings']]);
    expect(target.querySelectorAll('[data-testid="source-amqp"]').length).toBe(2);
    unmount(view);
  });
});

describe('AMQP session panel', () => {
  it('tells state and failures in words, in both languages, and connects', async () => {
    const { fake, target, view } = await panel('disconnected');
    expect(byTestId(target, 'amqp-state').textContent?.trim()).toBe('Disconnected');
    expect(byTestId(target, 'amqp-hello-run').hasAttribute('disabled')).toBe(true);
    byTestId(target, 'amqp-connect').click();
    await settle();
    expect(fake.made).toEqual([['connect', 'amqp-1']]);
    expect(byTestId(target, 'amqp-state').textContent?.trim()).toBe('Connected');
    fake.pushState('amqp-1', {
      lost: { code: 'AccessRefused', message: 'access refused: the broker refused user guest' },
    });
    await settle();
    expect(byTestId(target, 'amqp-state').textContent).toContain(
      'Connection lost: access refused: the broker refused user guest',
    );
    setLocale('zh-CN');
    await settle();
    expect(byTestId(target, 'amqp-state').textContent).toContain('连接已断开：拒绝访问');
    expect(byTestId(target, 'amqp-connect').textContent).toBe('重新连接');
    unmount(view);
  });

  it('runs Hello World and lists its steps, details as text', async () => {
    const { fake, target, view } = await panel();
    fake.hello = [
      { what: 'amqp.hello.declare', ok: true, detail: 'queue hello: 0 ready' },
      { what: 'amqp.hello.publish', ok: true, detail: 'confirmed' },
      { what: 'amqp.hello.receive', ok: false, detail: '<b>nothing</b> came' },
    ];
    byTestId(target, 'amqp-hello-run').click();
    await settle();
    const steps = target.querySelectorAll('[data-testid="amqp-hello-step"]');
    expect(steps.length).toBe(3);
    expect(steps[0]?.textContent).toContain('Declare the queue hello');
    expect(steps[0]?.textContent).toContain('ok');
    expect(steps[2]?.textContent).toContain('failed');
    expect(steps[2]?.textContent).toContain('<b>nothing</b> came');
    expect(target.querySelector('b')).toBeNull();
    unmount(view);
  });

  it('publishes with properties and says unroutable; a bad field is said before sending', async () => {
    const { fake, target, view } = await panel();
    type(byTestId(target, 'amqp-publish-exchange'), 'logs');
    type(byTestId(target, 'amqp-publish-key'), 'kern.critical');
    type(byTestId(target, 'amqp-prop-priority'), '300');
    byTestId(target, 'amqp-publish-send').click();
    await settle();
    expect(byTestId(target, 'amqp-publish-error').textContent).toContain('300');
    expect(fake.made).toEqual([]);
    type(byTestId(target, 'amqp-prop-priority'), '4');
    type(byTestId(target, 'amqp-prop-correlationId'), 'job-1');
    type(byTestId(target, 'amqp-publish-mode'), '2');
    fake.outcome = 'unroutable';
    byTestId(target, 'amqp-publish-send').click();
    await settle();
    expect(fake.made).toHaveLength(1);
    expect(fake.made[0]?.[2]).toMatchObject({
      exchange: 'logs',
      routingKey: 'kern.critical',
      body: 'Hello World!',
      bodyBase64: false,
      mandatory: true,
      properties: { priority: 4, correlationId: 'job-1', deliveryMode: 2, contentType: 'text/plain' },
    });
    expect(byTestId(target, 'amqp-publish-outcome').textContent).toContain('Unroutable');
    // Ctrl+Enter in the body sends again.
    byTestId(target, 'amqp-publish-body').dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true, bubbles: true }),
    );
    await settle();
    expect(fake.made).toHaveLength(2);
    unmount(view);
  });

  it('consumes with manual acks and nacks with requeue; the list follows the pushed events', async () => {
    const { fake, target, view } = await panel();
    byTestId(target, 'amqp-part-consume').click();
    await settle();
    type(byTestId(target, 'amqp-consume-prefetch'), '0');
    byTestId(target, 'amqp-consume-start').click();
    await settle();
    expect(byTestId(target, 'amqp-consume-error').textContent).toContain('Prefetch');
    type(byTestId(target, 'amqp-consume-prefetch'), '5');
    byTestId(target, 'amqp-consume-start').click();
    await settle();
    expect(fake.made).toEqual([
      ['consume', 'amqp-1', { queue: 'hello', ack: 'manual', prefetch: 5, exclusive: false, consumerTag: '' }],
    ]);
    const pending = (tag: number, redelivered: boolean) => ({
      deliveryTag: tag,
      exchange: '',
      routingKey: 'hello',
      redelivered,
      size: 12,
      preview: '<i>job</i>',
    });
    fake.pushUnsettled({
      id: 'amqp-1',
      consumerTag: 'amq.ctag-1',
      deliveries: [pending(1, false), pending(2, false)],
      dropped: 0,
    });
    await settle();
    let rows = target.querySelectorAll('[data-testid="amqp-delivery"]');
    expect(rows.length).toBe(2);
    expect(rows[0]?.textContent).toContain('<i>job</i>');
    expect(rows[0]?.textContent).toContain('(default) → hello');
    expect(target.querySelector('i')).toBeNull();
    expect(byTestId(target, 'amqp-unsettled-count').textContent).toContain('2 unacknowledged');
    // Nack with requeue (the default), then the broker redelivers it: marked.
    (rows[0]?.querySelector('[data-testid="amqp-nack"]') as HTMLElement).click();
    await settle();
    expect(fake.made.at(-1)).toEqual(['settle', 'amqp-1', 'amq.ctag-1', 1, 'nack', true, false]);
    expect(target.querySelectorAll('[data-testid="amqp-delivery"]').length).toBe(1);
    fake.pushUnsettled({
      id: 'amqp-1',
      consumerTag: 'amq.ctag-1',
      deliveries: [pending(2, false), pending(3, true)],
      dropped: 0,
    });
    await settle();
    rows = target.querySelectorAll('[data-testid="amqp-delivery"]');
    expect(rows[1]?.querySelector('[data-testid="amqp-redelivered"]')).not.toBeNull();
    // Reject without requeue, then ack.
    check(byTestId(target, 'amqp-requeue'), false);
    (rows[1]?.querySelector('[data-testid="amqp-reject"]') as HTMLElement).click();
    await settle();
    expect(fake.made.at(-1)).toEqual(['settle', 'amqp-1', 'amq.ctag-1', 3, 'reject', false, false]);
    (rows[0]?.querySelector('[data-testid="amqp-ack"]') as HTMLElement).click();
    await settle();
    expect(fake.made.at(-1)).toEqual(['settle', 'amqp-1', 'amq.ctag-1', 2, 'ack', false, false]);
    fake.pushEnded({
      id: 'amqp-1',
      consumerTag: 'amq.ctag-1',
      failure: { code: 'NotFound', message: 'queue hello was deleted' },
    });
    await settle();
    expect(byTestId(target, 'amqp-consumer-ended').textContent).toContain('queue hello was deleted');
    unmount(view);
  });

  it('gets messages with their properties, bodies as text, and says an empty queue', async () => {
    const { fake, target, view } = await panel();
    const got = {
      exchange: 'logs',
      routingKey: 'kern.critical',
      redelivered: true,
      properties: {
        contentType: 'text/plain',
        contentEncoding: null,
        headers: [['source', '<b>py</b>']] as [string, string][],
        deliveryMode: 2,
        priority: null,
        correlationId: 'job-9',
        replyTo: null,
        expiration: null,
        messageId: null,
        timestamp: null,
        kind: null,
        userId: null,
        appId: null,
      },
      body: '<script>x()</script>disk full',
      bodyBase64: false,
      size: 29,
    };
    const answers = [got, null];
    fake.calls.get = (...args) => {
      fake.made.push(['get', ...args]);
      return Promise.resolve(answers.shift() ?? null);
    };
    byTestId(target, 'amqp-part-get').click();
    await settle();
    byTestId(target, 'amqp-get-run').click();
    await settle();
    expect(fake.made).toEqual([['get', 'amqp-1', 'hello', true]]);
    const message = byTestId(target, 'amqp-got');
    expect(message.textContent).toContain('logs → kern.critical');
    expect(message.textContent).toContain('redelivered');
    expect(message.textContent).toContain('job-9');
    expect(message.textContent).toMatch(/Header source\s*<b>py<\/b>/);
    expect(byTestId(target, 'amqp-got-body').textContent).toBe('<script>x()</script>disk full');
    expect(target.querySelector('script, b')).toBeNull();
    byTestId(target, 'amqp-get-run').click();
    await settle();
    expect(byTestId(target, 'amqp-get-empty').textContent).toContain('empty');
    unmount(view);
  });

  it('asks before purging, and checks a queue passively', async () => {
    const { fake, target, view } = await panel();
    byTestId(target, 'amqp-part-declare').click();
    await settle();
    byTestId(target, 'amqp-queue-purge').click();
    await settle();
    expect(byTestId(target, 'amqp-confirm').textContent).toContain('hello');
    expect(fake.made).toEqual([]);
    byTestId(target, 'amqp-confirm-yes').click();
    await settle();
    expect(fake.made).toEqual([['purgeQueue', 'amqp-1', 'hello']]);
    expect(byTestId(target, 'amqp-queue-outcome').textContent).toContain('7 messages purged');
    byTestId(target, 'amqp-queue-check').click();
    await settle();
    expect(fake.made.at(-1)).toEqual([
      'declareQueue',
      'amqp-1',
      { name: 'hello', durable: false, exclusive: false, autoDelete: false, passive: true, arguments: [] },
    ]);
    expect(byTestId(target, 'amqp-queue-outcome').textContent).toContain('exists: 3 ready');
    type(byTestId(target, 'amqp-exchange-name'), 'logs');
    type(byTestId(target, 'amqp-exchange-type'), 'topic');
    byTestId(target, 'amqp-exchange-declare').click();
    await settle();
    expect(fake.made.at(-1)?.[2]).toMatchObject({ name: 'logs', kind: 'topic', passive: false });
    unmount(view);
  });
});
