// The queue view's calls: watch an AMQP session's queues (a reading of the management API pushed
// at once and every 2 s while watched; the UI never polls), stop watching, and a queue's depth
// over time as SVG drawn by the backend.
import { Channel } from '@tauri-apps/api/core';
import { commands } from './bindings';
import type {
  QueueSnapshot_Serialize as QueueSnapshot,
  QueueStats_Serialize as QueueStats,
  WatchFailure,
} from './bindings';
import { settled, unwrap, type Platform } from './index';

export type { QueueSnapshot, QueueStats, WatchFailure };

/** Names one watcher of a session's queues. */
export type QueueWatcherId = number;

export interface QueueCalls {
  /**
   * Starts watching session `id`'s queues; `onSnapshot` gets every reading (failures in words
   * inside it). Rejects when the session is unknown or has no management port.
   */
  watch(id: string, onSnapshot: (snapshot: QueueSnapshot) => void): Promise<QueueWatcherId>;
  /** Stops one watcher; the last to go stops the readings. */
  unwatch(id: string, watcher: QueueWatcherId): Promise<void>;
  /** A queue's depth over the readings kept, as SVG text (never markup in the page). */
  chart(
    id: string,
    queue: string,
    dark: boolean,
    width: number,
    height: number,
    utcOffsetMinutes: number,
    label: string,
  ): Promise<string>;
}

const tauriQueues: QueueCalls = {
  watch: (id, onSnapshot) => {
    const channel = new Channel<QueueSnapshot>();
    channel.onmessage = onSnapshot;
    // The bindings name the channel's type by its deserialising side; what arrives is what the
    // backend serialises.
    type Wire = Parameters<typeof commands.amqpQueuesWatch>[1];
    return unwrap(commands.amqpQueuesWatch(id, channel as unknown as Wire));
  },
  unwatch: (id, watcher) => settled(commands.amqpQueuesUnwatch(id, watcher)),
  chart: (id, queue, dark, width, height, utcOffsetMinutes, label) =>
    unwrap(commands.amqpQueuesChart(id, queue, dark, width, height, utcOffsetMinutes, label)),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableQueues: QueueCalls = {
  watch: unavailable,
  unwatch: () => Promise.resolve(),
  chart: unavailable,
};

/** The queue calls of `platform` (a stand-in that refuses outside the app). */
export function amqpQueuesOf(platform: Platform): QueueCalls {
  return platform.kind === 'tauri' ? tauriQueues : unavailableQueues;
}
