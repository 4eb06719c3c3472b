// The AMQP 0-9-1 sessions' calls (RabbitMQ): profiles, connect and disconnect, declarations,
// publish, consumers and their unsettled deliveries, basic.get, the one-click Hello World, and
// the events the backend pushes (a session's state, a consumer's unsettled deliveries, a consumer
// ended). Nothing here polls.
import { commands, events } from './bindings';
import type {
  AckMode,
  AmqpConsumerEnded_Serialize as AmqpConsumerEnded,
  AmqpConsumerView as ConsumerFromBackend,
  AmqpFailure,
  AmqpGot_Serialize as AmqpGot,
  AmqpPending as PendingFromBackend,
  AmqpProfile_Serialize as AmqpProfile,
  AmqpProperties_Serialize as AmqpProperties,
  AmqpPublish_Serialize as AmqpPublish,
  AmqpSessionView_Serialize as AmqpSessionView,
  AmqpState,
  BindingSpec_Serialize as BindingSpec,
  ConsumeSpec_Serialize as ConsumeSpec,
  ExchangeSpec_Serialize as ExchangeSpec,
  ExchangeType,
  HeaderValue,
  HelloWorldStep,
  IpcError,
  PublishOutcome,
  QueueInfo,
  QueueSpec_Serialize as QueueSpec,
} from './bindings';
import { unwrap, type Platform, type Unsubscribe } from './index';

export type {
  AckMode,
  AmqpConsumerEnded,
  AmqpFailure,
  AmqpGot,
  AmqpProfile,
  AmqpProperties,
  AmqpPublish,
  AmqpSessionView,
  AmqpState,
  BindingSpec,
  ConsumeSpec,
  ExchangeSpec,
  ExchangeType,
  HeaderValue,
  HelloWorldStep,
  PublishOutcome,
  QueueInfo,
  QueueSpec,
};

/** A delivery a manual-ack consumer has not settled yet (preview: text, never markup). */
export type AmqpPending = Omit<PendingFromBackend, 'deliveryTag'> & { deliveryTag: number };

/** A running consumer of a session, with its unsettled deliveries now. */
export type AmqpConsumerView = Omit<ConsumerFromBackend, 'deliveries'> & { deliveries: AmqpPending[] };

/** Delivery tags are whole numbers from 1; the bindings type a JSON number as nullable. */
function tagged(list: PendingFromBackend[]): AmqpPending[] {
  return list.flatMap((d) => (d.deliveryTag === null ? [] : [{ ...d, deliveryTag: d.deliveryTag }]));
}

/** A consumer's unsettled deliveries; `dropped`: older ones not listed (still settleable). */
export interface AmqpUnsettled {
  id: string;
  consumerTag: string;
  deliveries: AmqpPending[];
  dropped: number;
}

export type SettleHow = 'ack' | 'nack' | 'reject';

export interface AmqpCalls {
  profiles(): Promise<AmqpSessionView[]>;
  /** What to know about where profiles and passwords are kept (empty when all is well). */
  notes(): Promise<string[]>;
  /** The session's running consumers (empty when not connected). */
  consumers(id: string): Promise<AmqpConsumerView[]>;
  /** Creates (id "") or updates; password null keeps the stored one, "" forgets it. */
  saveProfile(profile: AmqpProfile, password: string | null): Promise<AmqpSessionView>;
  deleteProfile(id: string): Promise<void>;
  connect(id: string): Promise<AmqpSessionView>;
  disconnect(id: string): Promise<void>;
  declareQueue(id: string, spec: QueueSpec): Promise<QueueInfo>;
  declareExchange(id: string, spec: ExchangeSpec): Promise<void>;
  bind(id: string, spec: BindingSpec): Promise<void>;
  unbind(id: string, spec: BindingSpec): Promise<void>;
  /** Resolves to how many messages went. */
  purgeQueue(id: string, name: string): Promise<number>;
  deleteQueue(id: string, name: string): Promise<number>;
  publish(id: string, message: AmqpPublish): Promise<PublishOutcome>;
  /** Resolves to the consumer tag. */
  consume(id: string, spec: ConsumeSpec): Promise<string>;
  cancel(id: string, consumerTag: string): Promise<void>;
  settle(
    id: string,
    consumerTag: string,
    deliveryTag: number,
    how: SettleHow,
    requeue: boolean,
    multiple: boolean,
  ): Promise<void>;
  /** basic.get: null when the queue is empty. */
  get(id: string, queue: string, requeue: boolean): Promise<AmqpGot | null>;
  helloWorld(id: string): Promise<HelloWorldStep[]>;
  onSessionChanged(on: (id: string, state: AmqpState) => void): Promise<Unsubscribe>;
  onUnsettled(on: (event: AmqpUnsettled) => void): Promise<Unsubscribe>;
  onConsumerEnded(on: (event: AmqpConsumerEnded) => void): Promise<Unsubscribe>;
}

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableAmqp: AmqpCalls = {
  profiles: () => Promise.resolve([]),
  notes: () => Promise.resolve([]),
  consumers: () => Promise.resolve([]),
  saveProfile: unavailable,
  deleteProfile: unavailable,
  connect: unavailable,
  disconnect: unavailable,
  declareQueue: unavailable,
  declareExchange: unavailable,
  bind: unavailable,
  unbind: unavailable,
  purgeQueue: unavailable,
  deleteQueue: unavailable,
  publish: unavailable,
  consume: unavailable,
  cancel: unavailable,
  settle: unavailable,
  get: unavailable,
  helloWorld: unavailable,
  onSessionChanged: () => Promise.resolve(() => {}),
  onUnsettled: () => Promise.resolve(() => {}),
  onConsumerEnded: () => Promise.resolve(() => {}),
};

/** A command that answers nothing but may fail. */
const done = async (call: Promise<{ status: 'ok'; data: null } | { status: 'error'; error: IpcError }>) => {
  await unwrap(call);
};

const tauriAmqp: AmqpCalls = {
  profiles: () => unwrap(commands.amqpProfiles()),
  notes: () => unwrap(commands.amqpNotes()),
  consumers: async (id) =>
    (await unwrap(commands.amqpConsumers(id))).map((c) => ({ ...c, deliveries: tagged(c.deliveries) })),
  saveProfile: (profile, password) => unwrap(commands.amqpSaveProfile(profile, password)),
  deleteProfile: (id) => done(commands.amqpDeleteProfile(id)),
  connect: (id) => unwrap(commands.amqpConnect(id)),
  disconnect: (id) => done(commands.amqpDisconnect(id)),
  declareQueue: (id, spec) => unwrap(commands.amqpDeclareQueue(id, spec)),
  declareExchange: (id, spec) => done(commands.amqpDeclareExchange(id, spec)),
  bind: (id, spec) => done(commands.amqpBind(id, spec)),
  unbind: (id, spec) => done(commands.amqpUnbind(id, spec)),
  purgeQueue: (id, name) => unwrap(commands.amqpPurgeQueue(id, name)),
  deleteQueue: (id, name) => unwrap(commands.amqpDeleteQueue(id, name)),
  publish: (id, message) => unwrap(commands.amqpPublish(id, message)),
  consume: (id, spec) => unwrap(commands.amqpConsume(id, spec)),
  cancel: (id, tag) => done(commands.amqpCancel(id, tag)),
  settle: (id, consumerTag, deliveryTag, how, requeue, multiple) =>
    done(commands.amqpSettle(id, consumerTag, deliveryTag, how, requeue, multiple)),
  get: (id, queue, requeue) => unwrap(commands.amqpGet(id, queue, requeue)),
  helloWorld: (id) => unwrap(commands.amqpHelloWorld(id)),
  onSessionChanged: (on) =>
    events.amqpSessionChanged.listen((event) => on(event.payload.id, event.payload.state)),
  onUnsettled: (on) =>
    events.amqpUnsettled.listen((event) =>
      on({
        ...event.payload,
        deliveries: tagged(event.payload.deliveries),
      }),
    ),
  onConsumerEnded: (on) =>
    events.amqpConsumerEnded.listen((event) =>
      on({ ...event.payload, failure: event.payload.failure ?? null }),
    ),
};

/** The AMQP calls of `platform` (a stand-in with no sessions outside the app). */
export function amqpOf(platform: Platform): AmqpCalls {
  return platform.kind === 'tauri' ? tauriAmqp : unavailableAmqp;
}
