// Connection and subscription states in words. Pure functions of their inputs (and the current
// language): the caller passes the clock, which it ticks only while a countdown is shown.
import type { ConnectionState, SubscriptionStatus } from '../platform';
import { t } from '../i18n/index.svelte';
import { withKind } from '../i18n/errors';
import { answerText } from './codes';

/** "09:05:07" in local time. */
export function clockTime(timeMs: number): string {
  const d = new Date(timeMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Whole seconds left until `at`, rounded up so "0 s" only shows once the moment has come. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** The connection state as one line of text. */
export function describeState(state: ConnectionState, now: number): string {
  switch (state.state) {
    case 'Disconnected':
      return t('session.state.disconnected');
    case 'Connecting':
      return t('session.state.connecting', { attempt: state.attempt });
    case 'Connected':
      return t(state.resumed ? 'session.state.connected-resumed' : 'session.state.connected', {
        time: clockTime(state.since),
      });
    case 'Reconnecting':
      return t('session.state.reconnecting', {
        seconds: secondsUntil(state.at, now),
        attempt: state.attempt,
        reason: withKind(state.code, answerText(state.answer, state.reason)),
      });
    case 'Failed':
      return t('session.state.failed', {
        reason: withKind(state.code, answerText(state.answer, state.reason)),
      });
  }
}

/** True while the session is trying to be, or is, connected (so Disconnect has a meaning). */
export function isRunning(state: ConnectionState): boolean {
  return (
    state.state === 'Connecting' || state.state === 'Connected' || state.state === 'Reconnecting'
  );
}

/** How the broker answered a subscription, in words. */
export function describeSubscriptionStatus(status: SubscriptionStatus): string {
  switch (status.status) {
    case 'Inactive':
      return t('session.sub.status.inactive');
    case 'Pending':
      return t('session.sub.status.pending');
    case 'Granted':
      return t('session.sub.status.granted', { qos: status.qos });
    case 'Refused':
      return t('session.sub.status.refused', {
        reason: answerText({ packet: 'SUBACK', code: status.code, detail: '' }, status.reason),
      });
  }
}
