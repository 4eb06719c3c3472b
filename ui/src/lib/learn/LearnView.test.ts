import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import LearnView from './LearnView.svelte';
import type { Platform } from '../platform';
import type { LearnCalls, LessonList, LessonState } from '../platform/learn';
import { setLocale } from '../i18n/index.svelte';

const list: LessonList = {
  lessons: [
    { id: 'qos', title: 'QoS 0, 1 and 2', summary: 'Handshakes', steps: 4, stepsDone: 1, builtIn: true },
  ],
  rejected: [
    {
      file: 'broken.toml',
      problems: [{ line: 16, field: 'steps[0].checks[0].to', message: 'no actor is called "dashbord"' }],
    },
  ],
  folder: '/home/teacher/.config/dev.mqttworkbench.desktop/lessons',
};

const lesson: LessonState = {
  id: 'qos',
  title: 'QoS 0, 1 and 2',
  stepTitles: ['QoS 1', 'QoS 2'],
  step: 0,
  stepsDone: [],
  text: 'At QoS 1 every PUBLISH is answered with a PUBACK.',
  task: 'Subscribe the dashboard.',
  hints: ['Type the filter.', 'Watch two PUBACKs.'],
  playground: true,
  checks: [
    { says: 'The broker acknowledged', holds: true },
    { says: 'The dashboard got it', holds: false },
  ],
  done: false,
  complete: false,
  rabbitmq: null,
  actors: [
    {
      kind: 'mqtt',
      pausable: true,
      role: 'the dashboard',
      status: {
        id: 'dashboard',
        link: 'online',
        note: 'session-kept',
        detail: '',
        subscriptions: [],
        received: [{ topic: 'a/<b>', payload: '<img src=x>', qos: 1, retain: false, dup: false }],
        unacknowledged: 0,
      },
      buttons: [{ index: 0, label: 'Publish QoS 1' }],
    },
  ],
};

function fakeCalls(open: LessonState | null) {
  const asked: unknown[][] = [];
  const ok = () => Promise.resolve(null);
  const calls: LearnCalls = {
    lessons: () => Promise.resolve(list),
    reload: () => Promise.resolve(list),
    open: (id) => (asked.push(['open', id]), ok()),
    state: () => Promise.resolve(open),
    step: (step) => (asked.push(['step', step]), ok()),
    act: (...args) => (asked.push(['act', ...args]), ok()),
    press: (...args) => (asked.push(['press', ...args]), ok()),
    reset: ok,
    close: ok,
    forget: () => Promise.resolve(),
    setRabbitmq: (url) => (asked.push(['rabbitmq', url]), ok()),
    match: (filter, topic) =>
      Promise.resolve({
        filterError: filter.includes('#/') ? 'a # must be the last level' : null,
        topicError: null,
        matches: filter === 'home/+/temperature' && topic === 'home/kitchen/temperature',
      }),
    onChanged: () => Promise.resolve(() => {}),
  };
  return { calls, asked };
}

async function settle() {
  for (let i = 0; i < 4; i++) {
    flushSync();
    await tick();
  }
}

async function render(calls: LearnCalls) {
  const target = document.createElement('div');
  document.body.append(target);
  const view = mount(LearnView, {
    target,
    props: { platform: { kind: 'unavailable' } as Platform, source: { kind: 'broker' }, calls },
  });
  await settle();
  return {
    target,
    destroy: () => {
      unmount(view);
      target.remove();
    },
  };
}

const byTest = (target: HTMLElement, id: string) =>
  target.querySelector<HTMLElement>(`[data-testid="${id}"]`);

afterEach(() => setLocale('en'));

describe('learn view', () => {
  it('lists lessons with progress and a refused file with its line and field', async () => {
    const { calls, asked } = fakeCalls(null);
    const { target, destroy } = await render(calls);
    expect(byTest(target, 'learn-progress-qos')?.textContent?.trim()).toBe('Steps done: 1 of 4');
    expect(byTest(target, 'learn-rejected-broken.toml')?.textContent).toContain(
      'line 16, steps[0].checks[0].to: no actor is called "dashbord"',
    );
    byTest(target, 'learn-open-qos')?.click();
    await settle();
    expect(asked).toEqual([['open', 'qos']]);
    destroy();
  });

  it('shows a lesson, its checks and hints, and sends what the learner does', async () => {
    setLocale('zh-CN');
    const { calls, asked } = fakeCalls(lesson);
    const { target, destroy } = await render(calls);
    expect(byTest(target, 'lesson-task')?.textContent).toBe('Subscribe the dashboard.');
    expect(byTest(target, 'lesson-check-0')?.dataset.holds).toBe('true');
    expect(byTest(target, 'lesson-check-1')?.dataset.holds).toBe('false');
    expect(byTest(target, 'actor-dashboard-link')?.textContent).toBe('在线');
    expect(byTest(target, 'actor-dashboard-note')?.textContent?.trim()).toBe('已连接；代理保留了它的会话');
    // Payloads and topics are text, never markup.
    expect(byTest(target, 'actor-dashboard-received')?.querySelector('img')).toBeNull();
    expect(byTest(target, 'actor-dashboard-received')?.textContent).toContain('<img src=x>');
    expect(byTest(target, 'playground-answer')?.dataset.matches).toBe('true');
    const wrong = byTest(target, 'playground-filter') as HTMLInputElement;
    wrong.value = 'home/#/x';
    wrong.dispatchEvent(new Event('input'));
    await settle();
    expect(byTest(target, 'playground-answer')?.textContent).toContain('a # must be the last level');
    expect(byTest(target, 'lesson-hint-0')).toBeNull();
    byTest(target, 'lesson-hint')?.click();
    await settle();
    expect(byTest(target, 'lesson-hint-0')?.textContent).toContain('Type the filter.');
    const filter = byTest(target, 'actor-dashboard-filter') as HTMLInputElement;
    filter.value = 'factory/#';
    filter.dispatchEvent(new Event('input'));
    byTest(target, 'actor-dashboard-subscribe')?.click();
    byTest(target, 'actor-dashboard-button-0')?.click();
    byTest(target, 'actor-dashboard-plug')?.click();
    byTest(target, 'lesson-next')?.click();
    await settle();
    expect(asked).toEqual([
      ['act', 'dashboard', 'subscribe', 'factory/#', 0, null],
      ['press', 'dashboard', 0],
      ['act', 'dashboard', 'pull_plug', null, 0, null],
      ['step', 1],
    ]);
    destroy();
  });

  it('shows a RabbitMQ lesson: the broker it needs, why it did not answer, and AMQP clients', async () => {
    const rabbitLesson: LessonState = {
      ...lesson,
      id: 'rabbitmq-queues',
      playground: false,
      rabbitmq: {
        url: 'amqp://guest@localhost:5672/',
        problem: 'nothing accepts connections at <b>amqp://guest@localhost:5672/</b> (connection refused)',
      },
      actors: [
        {
          kind: 'amqp',
          pausable: true,
          role: 'worker.py',
          status: {
            id: 'worker-1',
            link: 'online',
            note: 'not-working',
            detail: '',
            subscriptions: ['queue task_queue · prefetch 1 · manual ack'],
            received: [],
            unacknowledged: 1,
          },
          buttons: [],
        },
        {
          kind: 'amqp',
          pausable: false,
          role: 'receive.py',
          status: {
            id: 'receive',
            link: 'online',
            note: 'connected',
            detail: '',
            subscriptions: ['queue hello · auto ack'],
            received: [],
            unacknowledged: 0,
          },
          buttons: [],
        },
      ],
    };
    const { calls, asked } = fakeCalls(rabbitLesson);
    const { target, destroy } = await render(calls);
    expect(byTest(target, 'lesson-rabbitmq')?.textContent).toContain('amqp://guest@localhost:5672/');
    const problem = byTest(target, 'lesson-rabbitmq-problem');
    expect(problem?.querySelector('b')).toBeNull();
    expect(problem?.textContent).toContain('(connection refused)');
    expect(byTest(target, 'actor-worker-1-note')?.textContent).toContain('acknowledges nothing');
    expect(byTest(target, 'actor-worker-1')?.textContent).toContain('Consumes: queue task_queue');
    // An AMQP client has no MQTT forms, no pulled plug and no MQTT reconnect.
    expect(byTest(target, 'actor-worker-1-subscribe')).toBeNull();
    expect(byTest(target, 'actor-worker-1-plug')).toBeNull();
    expect(byTest(target, 'actor-worker-1-reconnect')).toBeNull();
    // Automatic acks: nothing to hold back, so no pause.
    expect(byTest(target, 'actor-receive-pause')).toBeNull();
    expect(byTest(target, 'actor-receive-disconnect')).not.toBeNull();
    byTest(target, 'actor-worker-1-pause')?.click();
    const url = byTest(target, 'lesson-rabbitmq-url') as HTMLInputElement;
    url.value = 'amqp://guest:guest@10.0.0.5:5672/';
    url.dispatchEvent(new Event('input'));
    await settle();
    byTest(target, 'lesson-rabbitmq-use')?.click();
    await settle();
    expect(asked).toEqual([
      ['act', 'worker-1', 'pause', null, 0, null],
      ['rabbitmq', 'amqp://guest:guest@10.0.0.5:5672/'],
    ]);
    destroy();
  });
});
