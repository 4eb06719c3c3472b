// A stand-in for the AMQP calls in component tests (only tests import it): records every call,
// answers as a small RabbitMQ would, and lets a test push the backend's events.
import type {
  AmqpCalls,
  AmqpConsumerEnded,
  AmqpConsumerView,
  AmqpSessionView,
  AmqpState,
  AmqpUnsettled,
  HelloWorldStep,
  PublishOutcome,
} from '../platform/amqp';

export function amqpView(id = 'amqp-1', state: AmqpState = 'disconnected'): AmqpSessionView {
  return {
    profile: {
      id,
      name: 'rabbit',
      url: 'amqp://guest@localhost:5672/',
      managementPort: 15672,
      caFile: null,
    },
    hasPassword: true,
    state,
  };
}

export interface FakeAmqp {
  calls: AmqpCalls;
  /** Every call made, as [name, ...arguments]. */
  made: unknown[][];
  pushState(id: string, state: AmqpState): void;
  pushUnsettled(event: AmqpUnsettled): void;
  pushEnded(event: AmqpConsumerEnded): void;
  /** What the next publish answers. */
  outcome: PublishOutcome;
  hello: HelloWorldStep[];
  notes: string[];
  /** What `consumers` answers. */
  running: AmqpConsumerView[];
}

export function fakeAmqp(list: AmqpSessionView[] = [amqpView()]): FakeAmqp {
  const made: unknown[][] = [];
  const listeners = {
    state: [] as ((id: string, state: AmqpState) => void)[],
    unsettled: [] as ((event: AmqpUnsettled) => void)[],
    ended: [] as ((event: AmqpConsumerEnded) => void)[],
  };
  const record =
    <T>(name: string, answer: (...args: never[]) => T) =>
    (...args: unknown[]): Promise<T> => {
      made.push([name, ...args]);
      return Promise.resolve((answer as (...a: unknown[]) => T)(...args));
    };
  const fake: FakeAmqp = {
    made,
    outcome: 'accepted',
    hello: [],
    notes: [],
    running: [],
    pushState: (id, state) => listeners.state.forEach((on) => on(id, state)),
    pushUnsettled: (event) => listeners.unsettled.forEach((on) => on(event)),
    pushEnded: (event) => listeners.ended.forEach((on) => on(event)),
    calls: {
      profiles: () => Promise.resolve(list),
      notes: () => Promise.resolve(fake.notes),
      consumers: () => Promise.resolve(fake.running),
      saveProfile: record('saveProfile', (profile: AmqpSessionView['profile']) => ({
        profile: { ...profile, id: profile.id || 'amqp-new' },
        hasPassword: true,
        state: 'disconnected' as AmqpState,
      })),
      deleteProfile: record('deleteProfile', () => undefined),
      connect: record('connect', (id: string) => ({ ...amqpView(id), state: 'connected' as AmqpState })),
      disconnect: record('disconnect', () => undefined),
      declareQueue: record('declareQueue', (_id: string, spec: { name: string }) => ({
        name: spec.name,
        messages: 3,
        consumers: 0,
      })),
      declareExchange: record('declareExchange', () => undefined),
      bind: record('bind', () => undefined),
      unbind: record('unbind', () => undefined),
      purgeQueue: record('purgeQueue', () => 7),
      deleteQueue: record('deleteQueue', () => 2),
      publish: record('publish', () => fake.outcome),
      consume: record('consume', () => 'amq.ctag-1'),
      cancel: record('cancel', () => undefined),
      settle: record('settle', () => undefined),
      get: record('get', () => null),
      helloWorld: record('helloWorld', () => fake.hello),
      onSessionChanged: (on) => {
        listeners.state.push(on);
        return Promise.resolve(() => {});
      },
      onUnsettled: (on) => {
        listeners.unsettled.push(on);
        return Promise.resolve(() => {});
      },
      onConsumerEnded: (on) => {
        listeners.ended.push(on);
        return Promise.resolve(() => {});
      },
    },
  };
  return fake;
}
