// The views of the main pane, in the order of the tab bar. The shell's own views (topics,
// packets, publish, and the broker's or session's settings) are drawn by App.svelte; every other
// view is one entry here and one branch in MoreViews.svelte, which gets the shared context below.
// A new view: add its entry (label keys in its area's messages.ts), then its branch.
import type {
  BrokerStatus,
  ClientView,
  Platform,
  SessionView,
  SourceId,
  TrafficFrame,
  ViewerId,
} from '../platform';
import { isAmqpSource } from '../amqp/store.svelte';

/** Where a view's tab sits in the bar: the explorer's, the teaching views, the tools. */
export type ViewGroup = 'explore' | 'teach' | 'tools';

export interface ViewEntry {
  /** The tab's id (also in its test id: `tab-<id>`). */
  id: string;
  /** The i18n key of the tab's label. */
  label: string;
  group: ViewGroup;
  /** Shown only for some sources (all when absent). */
  for?: (source: SourceId) => boolean;
}

/** The shell's views: drawn by App.svelte itself. */
export const SHELL_VIEWS = ['topics', 'packets', 'publish', 'settings'] as const;
export type ShellView = (typeof SHELL_VIEWS)[number];

export function isShellView(id: string): id is ShellView {
  return (SHELL_VIEWS as readonly string[]).includes(id);
}

/** Every other view, in tab order. */
export const VIEWS: ViewEntry[] = [
  // An AMQP session's queues (management API): RabbitMQ's "Queues" page, with depth charts.
  { id: 'amqp-queues', label: 'amqp-queues.tab', group: 'explore', for: (s) => isAmqpSource(s) },
  { id: 'learn', label: 'learn.tab', group: 'teach' },
  { id: 'teach', label: 'teach.tab', group: 'teach' },
  { id: 'classroom', label: 'classroom.tab', group: 'teach' },
  { id: 'sparkplug', label: 'decode.sparkplug-tab', group: 'explore' },
  { id: 'schemas', label: 'decode.schemas-tab', group: 'tools' },
  { id: 'simulator', label: 'tools.sim-tab', group: 'tools' },
  { id: 'bench', label: 'tools.bench-tab', group: 'tools' },
  { id: 'capture', label: 'capture.tab', group: 'tools' },
];

/** What every view may use: the shell's state, read-only, and a way back to the topics. */
export interface ViewContext {
  platform: Platform;
  source: SourceId;
  /** The main view's viewer of `source` (null until the backend named it). */
  viewer: ViewerId | null;
  /** The last pushed frame of `source`. */
  frame: TrafficFrame | null;
  sessions: SessionView[];
  /** The session `source` names, if it is one. */
  current: SessionView | null;
  /** The embedded broker's clients and status, as last pushed. */
  clients: ClientView[];
  broker: BrokerStatus | null;
  /** Switches the main pane to another view (a shell view or an entry's id). */
  show: (view: string) => void;
}

/**
 * Sources whose settings and publish tabs MoreViews draws (its `settings` and `publish`
 * branches): the AMQP sessions.
 */
export function ownsSettings(source: SourceId): boolean {
  return isAmqpSource(source);
}

export function viewsFor(source: SourceId): ViewEntry[] {
  return VIEWS.filter((v) => !v.for || v.for(source));
}
