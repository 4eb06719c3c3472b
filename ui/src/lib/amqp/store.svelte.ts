// This window's view of the AMQP sessions: the saved profiles with their state, and the
// consumers started here with their unsettled deliveries, kept current by the pushed events
// (AmqpSessionChanged, AmqpUnsettled, AmqpConsumerEnded). One per window; nothing polls.
// The shell tells AMQP sources from MQTT ones by this list, never by the id's shape.
import type { SourceId } from '../platform';
import type {
  AckMode,
  AmqpCalls,
  AmqpConsumerEnded,
  AmqpConsumerView,
  AmqpFailure,
  AmqpPending,
  AmqpSessionView,
  AmqpState,
  AmqpUnsettled,
  HelloWorldStep,
} from '../platform/amqp';

/** A consumer as the panel lists it. */
export interface ConsumerView {
  tag: string;
  /** Empty when the consumer was started elsewhere (another window) and only its events came. */
  queue: string;
  ack: AckMode;
  prefetch: number;
  pending: AmqpPending[];
  dropped: number;
  /** Set when the broker ended it (null failure: cancelled). */
  ended: { failure: AmqpFailure | null } | null;
}

/** Unsettled lists kept per consumer (the backend bounds its own to 1000). */
const MAX_PENDING = 1000;

export class AmqpSessions {
  sessions = $state<AmqpSessionView[]>([]);
  /** Consumers by session id. */
  consumers = $state<Record<string, ConsumerView[]>>({});
  /** The last Hello World run of each session (kept while the pane is away). */
  hello = $state<Record<string, HelloWorldStep[]>>({});
  /** Why the list could not be read, if it could not. */
  error = $state<string | null>(null);
  #calls: AmqpCalls | null = null;
  #stops: (() => void)[] = [];

  /** Starts following `calls` (once; later calls with the same calls do nothing). */
  follow(calls: AmqpCalls): void {
    if (this.#calls === calls) return;
    this.stop();
    this.#calls = calls;
    // States pushed before the list answered are newer than the list's.
    const pushed: Record<string, AmqpState> = {};
    let listed = false;
    const keep = (stop: () => void) => {
      if (this.#calls === calls) this.#stops.push(stop);
      else stop();
    };
    calls
      .onSessionChanged((id, state) => {
        pushed[id] = state;
        // A session saved in another window: read the list again to learn its profile.
        if (listed && !this.find(id)) this.reload(calls);
        this.setState(id, state);
      })
      .then(keep)
      .catch(() => {});
    calls
      .onUnsettled((event) => this.unsettled(event))
      .then(keep)
      .catch(() => {});
    calls
      .onConsumerEnded((event) => this.ended(event))
      .then(keep)
      .catch(() => {});
    calls.profiles().then(
      (list) => {
        if (this.#calls !== calls) return;
        listed = true;
        this.sessions = list.map((s) => ({ ...s, state: pushed[s.profile.id] ?? s.state }));
        this.error = null;
      },
      (error: unknown) => {
        this.error = error instanceof Error ? error.message : String(error);
      },
    );
  }

  private reload(calls: AmqpCalls): void {
    calls.profiles().then(
      (list) => {
        if (this.#calls !== calls) return;
        this.sessions = [...this.sessions, ...list.filter((s) => !this.find(s.profile.id))];
      },
      () => {},
    );
  }

  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
    this.#calls = null;
  }

  find(id: string): AmqpSessionView | null {
    return this.sessions.find((s) => s.profile.id === id) ?? null;
  }

  /** A session as a command returned it (saved, connected). */
  put(view: AmqpSessionView): void {
    const at = this.sessions.findIndex((s) => s.profile.id === view.profile.id);
    if (at < 0) this.sessions = [...this.sessions, view];
    else this.sessions = this.sessions.map((s, i) => (i === at ? view : s));
  }

  remove(id: string): void {
    this.sessions = this.sessions.filter((s) => s.profile.id !== id);
    this.consumers = Object.fromEntries(Object.entries(this.consumers).filter(([key]) => key !== id));
  }

  setState(id: string, state: AmqpState): void {
    this.sessions = this.sessions.map((s) => (s.profile.id === id ? { ...s, state } : s));
    // A session that is no longer connected has no consumers left.
    if (state !== 'connected' && state !== 'connecting') {
      const list = this.consumers[id];
      if (list?.some((c) => !c.ended)) {
        this.consumers = {
          ...this.consumers,
          [id]: list.map((c) => (c.ended ? c : { ...c, pending: [], ended: { failure: null } })),
        };
      }
    }
  }

  /** The session's running consumers as the backend lists them (a pane opened later). */
  loaded(id: string, list: AmqpConsumerView[]): void {
    const ours = this.consumers[id] ?? [];
    const running = list.map((c) => {
      const known = ours.find((o) => o.tag === c.consumerTag);
      return {
        tag: c.consumerTag,
        queue: c.queue,
        ack: c.ack,
        prefetch: c.prefetch,
        pending: c.deliveries.slice(-MAX_PENDING),
        dropped: c.dropped,
        ended: known?.ended ?? null,
      };
    });
    // Ended ones stay listed (with why) until the user closes them.
    const ended = ours.filter((o) => o.ended && !list.some((c) => c.consumerTag === o.tag));
    this.consumers = { ...this.consumers, [id]: [...ended, ...running] };
  }

  /** A consumer this window started. */
  started(id: string, consumer: Omit<ConsumerView, 'pending' | 'dropped' | 'ended'>): void {
    const list = (this.consumers[id] ?? []).filter((c) => c.tag !== consumer.tag);
    this.consumers = {
      ...this.consumers,
      [id]: [...list, { ...consumer, pending: [], dropped: 0, ended: null }],
    };
  }

  /** Forgets a consumer (after cancelling it, or an ended one the user closes). */
  forget(id: string, tag: string): void {
    this.consumers = {
      ...this.consumers,
      [id]: (this.consumers[id] ?? []).filter((c) => c.tag !== tag),
    };
  }

  /** Takes settled deliveries out at once; the next pushed list confirms it. */
  settled(id: string, tag: string, deliveryTag: number, multiple: boolean): void {
    this.update(id, tag, (c) => ({
      ...c,
      pending: c.pending.filter((p) =>
        multiple ? p.deliveryTag > deliveryTag : p.deliveryTag !== deliveryTag,
      ),
    }));
  }

  unsettled(event: AmqpUnsettled): void {
    const deliveries = event.deliveries.slice(-MAX_PENDING);
    const known = (this.consumers[event.id] ?? []).some((c) => c.tag === event.consumerTag);
    if (!known) {
      this.started(event.id, { tag: event.consumerTag, queue: '', ack: 'manual', prefetch: 0 });
    }
    this.update(event.id, event.consumerTag, (c) => ({
      ...c,
      pending: deliveries,
      dropped: event.dropped,
    }));
  }

  ended(event: AmqpConsumerEnded): void {
    this.update(event.id, event.consumerTag, (c) => ({
      ...c,
      pending: [],
      ended: { failure: event.failure },
    }));
  }

  private update(id: string, tag: string, change: (c: ConsumerView) => ConsumerView): void {
    const list = this.consumers[id];
    if (!list?.some((c) => c.tag === tag)) return;
    this.consumers = { ...this.consumers, [id]: list.map((c) => (c.tag === tag ? change(c) : c)) };
  }
}

/** This window's AMQP sessions. */
export const amqpSessions = new AmqpSessions();

/** True when `source` is one of the AMQP sessions (by the profile list, never by the id). */
export function isAmqpSource(source: SourceId, sessions: AmqpSessions = amqpSessions): boolean {
  return source.kind === 'session' && sessions.find(source.id) !== null;
}
