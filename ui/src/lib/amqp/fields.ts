// The action forms' logic, no markup: arguments and headers typed as rows (name, value, kind),
// a message's properties from text fields, and the checks AMQP makes (short strings of at most
// 255 bytes, expiration in whole milliseconds, priority 0 to 255, prefetch 1 to 65535), so a
// mistake is said before anything is sent. Errors are i18n keys with their parameters.
import type { AmqpProperties, HeaderValue } from '../platform/amqp';
import type { Problem } from './profile';

export type ValueKind = 'text' | 'number' | 'bool';

/** One row of an arguments or headers table, as typed. */
export interface ArgumentRow {
  name: string;
  value: string;
  kind: ValueKind;
}

/** RabbitMQ's queue and exchange arguments that take numbers. */
const NUMERIC_ARGUMENTS = new Set([
  'x-message-ttl',
  'x-expires',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-priority',
  'x-delivery-limit',
  'x-max-age',
]);

/** The kind a new row's value has by default, from its name. */
export function kindFor(name: string): ValueKind {
  return NUMERIC_ARGUMENTS.has(name.trim()) ? 'number' : 'text';
}

export const SHORT_MAX = 255;

const bytes = (text: string) => new TextEncoder().encode(text).length;

/** Checks a name (queue, exchange, routing key, property) against AMQP's short-string limit. */
export function checkShort(what: string, text: string): Problem | null {
  if (bytes(text) > SHORT_MAX) return { key: 'amqp.check.too-long', params: { what, max: SHORT_MAX } };
  // Control characters never belong in a name, and would not show.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return { key: 'amqp.check.control', params: { what } };
  return null;
}

/** The rows as the backend's `[name, value]` pairs; empty rows are left out. */
export function argumentsFrom(rows: ArgumentRow[]): [string, HeaderValue][] | Problem {
  const out: [string, HeaderValue][] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const name = row.name.trim();
    if (name === '' && row.value.trim() === '') continue;
    if (name === '') return { key: 'amqp.check.argument-name' };
    const bad = checkShort(name, name);
    if (bad) return bad;
    if (seen.has(name)) return { key: 'amqp.check.argument-twice', params: { name } };
    seen.add(name);
    if (row.kind === 'number') {
      const text = row.value.trim();
      const value = Number(text);
      if (text === '' || !Number.isFinite(value)) {
        return { key: 'amqp.check.argument-number', params: { name, value: row.value } };
      }
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        return { key: 'amqp.check.argument-number', params: { name, value: row.value } };
      }
      out.push([name, value]);
    } else if (row.kind === 'bool') {
      const text = row.value.trim().toLowerCase();
      if (text !== 'true' && text !== 'false') {
        return { key: 'amqp.check.argument-bool', params: { name, value: row.value } };
      }
      out.push([name, text === 'true']);
    } else {
      out.push([name, row.value]);
    }
  }
  return out;
}

/** A message's properties as typed (every field text; empty: not set). */
export interface PropertiesForm {
  contentType: string;
  contentEncoding: string;
  /** '' not set, '1' transient, '2' persistent. */
  deliveryMode: '' | '1' | '2';
  priority: string;
  correlationId: string;
  replyTo: string;
  expiration: string;
  messageId: string;
  kind: string;
  appId: string;
  userId: string;
  /** Stamp the message with the time of sending. */
  timestampNow: boolean;
  headers: ArgumentRow[];
}

export function newProperties(): PropertiesForm {
  return {
    contentType: 'text/plain',
    contentEncoding: '',
    deliveryMode: '',
    priority: '',
    correlationId: '',
    replyTo: '',
    expiration: '',
    messageId: '',
    kind: '',
    appId: '',
    userId: '',
    timestampNow: false,
    headers: [],
  };
}

const TEXT_PROPERTIES = [
  ['contentType', 'amqp.prop.content-type'],
  ['contentEncoding', 'amqp.prop.content-encoding'],
  ['correlationId', 'amqp.prop.correlation-id'],
  ['replyTo', 'amqp.prop.reply-to'],
  ['messageId', 'amqp.prop.message-id'],
  ['kind', 'amqp.prop.type'],
  ['appId', 'amqp.prop.app-id'],
  ['userId', 'amqp.prop.user-id'],
] as const;

/** The properties to send; `nowMs` stamps the timestamp when asked. */
export function propertiesFrom(form: PropertiesForm, nowMs: number): AmqpProperties | Problem {
  const text = (value: string) => (value.trim() === '' ? null : value.trim());
  for (const [field, label] of TEXT_PROPERTIES) {
    const bad = checkShort(label, form[field].trim());
    if (bad) return bad;
  }
  let priority: number | null = null;
  if (form.priority.trim() !== '') {
    const value = Number(form.priority.trim());
    if (!Number.isInteger(value) || value < 0 || value > 255) {
      return { key: 'amqp.check.priority', params: { value: form.priority } };
    }
    priority = value;
  }
  const expiration = text(form.expiration);
  if (expiration !== null && (!/^\d+$/.test(expiration) || Number(expiration) > 4294967295)) {
    return { key: 'amqp.check.expiration', params: { value: expiration } };
  }
  const headers = argumentsFrom(form.headers);
  if (!Array.isArray(headers)) return headers;
  return {
    contentType: text(form.contentType),
    contentEncoding: text(form.contentEncoding),
    headers,
    deliveryMode: form.deliveryMode === '' ? null : Number(form.deliveryMode),
    priority,
    correlationId: text(form.correlationId),
    replyTo: text(form.replyTo),
    expiration,
    messageId: text(form.messageId),
    timestamp: form.timestampNow ? Math.floor(nowMs / 1000) : null,
    kind: text(form.kind),
    userId: text(form.userId),
    appId: text(form.appId),
  };
}

/** Checks a prefetch count as typed (1 to 65535). */
export function prefetchFrom(text: string): number | Problem {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isInteger(value) || value < 1 || value > 65535) {
    return { key: 'amqp.check.prefetch', params: { value: text } };
  }
  return value;
}

/** Checks a base64 body as typed (whitespace allowed between groups). */
export function checkBase64(text: string): Problem | null {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    return { key: 'amqp.check.base64' };
  }
  return null;
}
