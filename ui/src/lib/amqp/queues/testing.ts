// Readings for the queue view's tests, as the backend sends them.
import type { QueueSnapshot, QueueStats } from '../../platform/amqpQueues';

/** One queue: idle, classic, running, unless `fields` say otherwise. */
export function queue(name: string, fields: Partial<QueueStats> = {}): QueueStats {
  return {
    name,
    vhost: '/',
    messages: 0,
    messagesReady: 0,
    messagesUnacknowledged: 0,
    consumers: 0,
    publishRate: 0,
    deliverRate: 0,
    durable: false,
    autoDelete: false,
    exclusive: false,
    state: 'running',
    kind: 'classic',
    ...fields,
  };
}

/** A good reading of `queues` at `atMs`. */
export function reading(queues: QueueStats[], atMs = 1_700_000_000_000): QueueSnapshot {
  return { vhost: '/', atMs, readMs: atMs, queues, truncated: false, failure: null };
}
