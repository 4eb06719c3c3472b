// An AMQP session's state, failures and check problems in the UI's language. The backend's
// failure messages are precise English sentences (they name the user, the vhost, the host);
// outside English each is introduced by its kind, translated (access refused, vhost not found,
// connection refused, TLS...), so the reader knows what failed.
import { locale, t } from '../i18n/index.svelte';
import type { AmqpFailure, AmqpState } from '../platform/amqp';
import type { Problem } from './profile';

/** The failure codes of the AMQP crate that have their own words. */
export const FAILURE_CODES = [
  'AccessRefused',
  'VhostNotFound',
  'ConnectionRefused',
  'Unreachable',
  'Tls',
  'PreconditionFailed',
  'NotFound',
  'ResourceLocked',
  'PermissionRefused',
  'ConnectionClosed',
  'Timeout',
  'BadUrl',
  'BadInput',
  'Protocol',
  'Io',
] as const;

/** The kind of failure, in the current language. */
export function failureKind(code: string): string {
  return (FAILURE_CODES as readonly string[]).includes(code)
    ? t(`amqp.code.${code}`)
    : t('amqp.code.other');
}

/** A failure in words: the backend's sentence, introduced by its kind outside English. */
export function failureText(failure: AmqpFailure): string {
  const message = failure.message.trim();
  if (message === '') return failureKind(failure.code);
  return locale() === 'en' ? message : `${failureKind(failure.code)}：${message}`;
}

export type StateName = 'disconnected' | 'connecting' | 'connected' | 'lost';

export function stateName(state: AmqpState): StateName {
  return typeof state === 'string' ? state : 'lost';
}

/** The state in words ("Connected", "Connection lost: access refused…"). */
export function describeAmqpState(state: AmqpState): string {
  if (typeof state === 'string') return t(`amqp.state.${state}`);
  return t('amqp.state.lost', { why: failureText(state.lost) });
}

/** The dot's class in the source list (as the MQTT sessions'). */
export function dotClass(state: AmqpState): string {
  const name = stateName(state);
  return name === 'connected' ? 'running' : name === 'lost' ? 'failed' : name === 'connecting' ? 'pending' : '';
}

/** A check's problem in words; a `what` parameter is itself a key (or a name shown as is). */
export function problemText(problem: Problem): string {
  const params = { ...(problem.params ?? {}) };
  if (typeof params.what === 'string') params.what = t(params.what);
  return t(problem.key, params);
}
