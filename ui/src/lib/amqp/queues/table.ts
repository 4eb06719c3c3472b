// The queue table's rules, apart from its markup: the columns, how each sorts, the name filter
// and how counts and rates are written (as RabbitMQ's management "Queues" page writes them).
import type { QueueStats } from '../../platform/amqpQueues';

export type SortKey =
  | 'name'
  | 'kind'
  | 'state'
  | 'ready'
  | 'unacked'
  | 'total'
  | 'consumers'
  | 'incoming'
  | 'deliver';

export interface Sort {
  key: SortKey;
  descending: boolean;
}

/** The columns in order, with their label keys; `numeric` ones align right and sort largest first. */
export const COLUMNS: { key: SortKey; label: string; numeric: boolean }[] = [
  { key: 'name', label: 'amqp-queues.col-name', numeric: false },
  { key: 'kind', label: 'amqp-queues.col-type', numeric: false },
  { key: 'state', label: 'amqp-queues.col-state', numeric: false },
  { key: 'ready', label: 'amqp-queues.col-ready', numeric: true },
  { key: 'unacked', label: 'amqp-queues.col-unacked', numeric: true },
  { key: 'total', label: 'amqp-queues.col-total', numeric: true },
  { key: 'consumers', label: 'amqp-queues.col-consumers', numeric: true },
  { key: 'incoming', label: 'amqp-queues.col-incoming', numeric: true },
  { key: 'deliver', label: 'amqp-queues.col-deliver', numeric: true },
];

/** By name, as the management UI opens. */
export const DEFAULT_SORT: Sort = { key: 'name', descending: false };

/** The value a column shows and sorts by (numbers the backend could not send count as 0). */
export function valueOf(queue: QueueStats, key: SortKey): string | number {
  switch (key) {
    case 'name':
      return queue.name;
    case 'kind':
      return queue.kind ?? '';
    case 'state':
      return queue.state ?? '';
    case 'ready':
      return queue.messagesReady ?? 0;
    case 'unacked':
      return queue.messagesUnacknowledged ?? 0;
    case 'total':
      return queue.messages ?? 0;
    case 'consumers':
      return queue.consumers ?? 0;
    case 'incoming':
      return queue.publishRate ?? 0;
    case 'deliver':
      return queue.deliverRate ?? 0;
  }
}

function compare(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

/**
 * The queues whose name contains `filter` (any case), sorted by `sort`; equal values keep the
 * name order, so rows do not jump between readings.
 */
export function sortQueues(queues: QueueStats[], sort: Sort, filter = ''): QueueStats[] {
  const needle = filter.trim().toLowerCase();
  const shown = needle ? queues.filter((q) => q.name.toLowerCase().includes(needle)) : [...queues];
  const direction = sort.descending ? -1 : 1;
  return shown.sort(
    (a, b) =>
      direction * compare(valueOf(a, sort.key), valueOf(b, sort.key)) ||
      a.name.localeCompare(b.name),
  );
}

/** The sort after a click on `key`'s header: the same column flips, another starts at its natural order. */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, descending: !current.descending };
  const numeric = COLUMNS.find((c) => c.key === key)?.numeric ?? false;
  return { key, descending: numeric };
}

/** A count with thousands grouped (1,234,567). */
export function formatCount(value: number | null): string {
  return Math.round(value ?? 0).toLocaleString('en-US');
}

/** A rate in messages per second: two decimals under 10, one under 100, none above. */
export function formatRate(value: number | null): string {
  const rate = value ?? 0;
  if (rate < 10) return rate.toFixed(2);
  if (rate < 100) return rate.toFixed(1);
  return Math.round(rate).toLocaleString('en-US');
}

/** `09:05:07` in the viewer's time zone, for a time in ms since the epoch. */
export function clockTime(ms: number): string {
  const at = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}
