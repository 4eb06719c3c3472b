// Subscribing from the topic tree: which MQTT session subscribes for a source, the filters a
// topic offers, and the sessions as the backend pushes them. No setup: on the embedded broker's
// source the app's own session ("This app") subscribes; on an MQTT session's source, that
// session. Any other source (a proxy, an AMQP session, an opened capture) offers nothing: AMQP
// sessions are not in the MQTT session list, so they are never matched here.
import type { Platform, SessionSubscription, SessionView, SourceId, Unsubscribe } from '../platform';

/** The session that subscribes from `source`'s tree, or null when none does. */
export function subscriberFor(source: SourceId, sessions: SessionView[]): SessionView | null {
  if (source.kind === 'broker') return sessions.find((s) => s.appSession) ?? null;
  if (source.kind === 'session') return sessions.find((s) => s.profile.id === source.id) ?? null;
  return null;
}

/** Whether `source`'s tree may offer MQTT subscriptions at all (the broker and MQTT sessions). */
export function offersSubscribe(source: SourceId, sessions: SessionView[]): boolean {
  return source.kind === 'broker' || subscriberFor(source, sessions) !== null;
}

/** A filter offered for a topic: the topic itself, or it and everything below (`topic/#`). */
export interface OfferedFilter {
  filter: string;
  subtree: boolean;
}

/**
 * The filters a topic offers. The empty first level of `/a` has the topic "", which is no
 * valid filter: only its subtree (`/#`) is offered. Topic names never hold `+` or `#`, so both
 * filters match exactly what the tree shows there.
 */
export function filtersFor(topic: string): OfferedFilter[] {
  const subtree = { filter: `${topic}/#`, subtree: true };
  return topic === '' ? [subtree] : [{ filter: topic, subtree: false }, subtree];
}

/** The session's subscription with exactly this filter, if any. */
export function subscriptionOf(
  session: SessionView | null,
  filter: string,
): SessionSubscription | null {
  return session?.subscriptions.find((s) => s.subscription.filter === filter) ?? null;
}

/** The sessions, with a newer view of one of them put in. */
export function withView(sessions: SessionView[], view: SessionView): SessionView[] {
  const at = sessions.findIndex((s) => s.profile.id === view.profile.id);
  if (at < 0) return [...sessions, view];
  return sessions.map((s, i) => (i === at ? view : s));
}

/** The QoS the tree subscribes with (the pane's choice, used by the tree's menu too). */
export const treeQos = $state({ value: 0 });

/**
 * Follows the session list: the list now, then each pushed change (a pushed change wins over
 * a slower first answer). Failures are silent (a window closing, a platform without sessions);
 * the caller then shows no session. Returns a function that stops following.
 */
export function followSessions(
  platform: Platform,
  onSessions: (sessions: SessionView[]) => void,
): () => void {
  let open = true;
  let pushed = false;
  let stop: Unsubscribe | null = null;
  Promise.resolve()
    .then(() =>
      platform.onSessionsChanged((overview) => {
        pushed = true;
        if (open) onSessions(overview.sessions);
      }),
    )
    .then((unlisten) => {
      if (open) stop = unlisten;
      else unlisten();
    })
    .catch(() => {});
  Promise.resolve()
    .then(() => platform.sessionList())
    .then((overview) => {
      if (open && !pushed) onSessions(overview.sessions);
    })
    .catch(() => {});
  return () => {
    open = false;
    stop?.();
  };
}
