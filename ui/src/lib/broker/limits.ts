// The broker's limits in the settings form: which there are, in which unit the form shows each
// (counts, megabytes, seconds), and the form's text read back into numbers with a precise problem
// when one is not a number. Ranges are checked by the backend, which names the value.
import type { LimitsView } from '../platform';

export type LimitKey = Exclude<keyof LimitsView, 'queueQos0WhileOffline' | 'maxSessionExpiry'>;
type Unit = 'count' | 'mb' | 'seconds';

export interface LimitField {
  key: LimitKey;
  unit: Unit;
  /** The largest value the backend's type holds, in the backend's unit. */
  max: number;
}

const U16 = 65_535;
const U32 = 4_294_967_295;

/** The limits, grouped as the form shows them. */
export const limitGroups: { title: string; fields: LimitField[] }[] = [
  {
    title: 'broker.limits-connections',
    fields: [
      { key: 'maxConnections', unit: 'count', max: U32 },
      { key: 'maxConnectionsPerAddress', unit: 'count', max: U32 },
      { key: 'maxClientIdBytes', unit: 'count', max: U32 },
      { key: 'connectTimeoutSecs', unit: 'seconds', max: U32 },
      { key: 'packetTimeoutSecs', unit: 'seconds', max: U32 },
      { key: 'writeTimeoutSecs', unit: 'seconds', max: U32 },
      { key: 'failedLoginDelaySecs', unit: 'seconds', max: U32 },
      { key: 'maxUnfinishedBytesTotal', unit: 'mb', max: U32 },
    ],
  },
  {
    title: 'broker.limits-sessions',
    fields: [
      { key: 'maxSubscriptionsPerClient', unit: 'count', max: U32 },
      { key: 'maxKeepAlive', unit: 'seconds', max: U16 },
      { key: 'receiveMaximum', unit: 'count', max: U16 },
      { key: 'maxInflight', unit: 'count', max: U16 },
      { key: 'topicAliasMaximum', unit: 'count', max: U16 },
    ],
  },
  {
    title: 'broker.limits-queues',
    fields: [
      { key: 'maxQueuedMessages', unit: 'count', max: U32 },
      { key: 'maxQueuedBytes', unit: 'mb', max: U32 },
      { key: 'maxQueuedBytesTotal', unit: 'mb', max: U32 },
      { key: 'maxRetainedMessages', unit: 'count', max: U32 },
      { key: 'maxRetainedBytes', unit: 'mb', max: U32 },
    ],
  },
];

const MB = 1024 * 1024;

/** The form's text for each limit. */
export interface LimitsForm {
  values: Record<LimitKey, string>;
  queueQos0WhileOffline: boolean;
  /** Empty: as the client asks. */
  maxSessionExpiry: string;
}

function shown(value: number, unit: Unit): string {
  if (unit !== 'mb') return String(value);
  const mb = value / MB;
  return Number.isInteger(mb) ? String(mb) : String(Math.round(mb * 1000) / 1000);
}

export function limitsToForm(limits: LimitsView): LimitsForm {
  const values = {} as Record<LimitKey, string>;
  for (const group of limitGroups) {
    for (const field of group.fields) values[field.key] = shown(limits[field.key], field.unit);
  }
  return {
    values,
    queueQos0WhileOffline: limits.queueQos0WhileOffline,
    maxSessionExpiry: limits.maxSessionExpiry === null ? '' : String(limits.maxSessionExpiry),
  };
}

/** A whole number of the backend's unit from the form's text, or null when it is not one. */
function parse(text: string, field: { unit: Unit; max: number }): number | null {
  const trimmed = text.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return null;
  const number = Number(trimmed);
  const value = field.unit === 'mb' ? Math.round(number * MB) : number;
  if (!Number.isInteger(value) || value > field.max) return null;
  return value;
}

/** The limits the form says, or the first limit that is not a number in range. */
export function formToLimits(
  form: LimitsForm,
): { limits: LimitsView; problem: null } | { limits: null; problem: LimitKey | 'maxSessionExpiry' } {
  const limits = {
    queueQos0WhileOffline: form.queueQos0WhileOffline,
    maxSessionExpiry: null,
  } as unknown as LimitsView;
  for (const group of limitGroups) {
    for (const field of group.fields) {
      const value = parse(form.values[field.key], field);
      if (value === null) return { limits: null, problem: field.key };
      limits[field.key] = value;
    }
  }
  if (form.maxSessionExpiry.trim()) {
    const expiry = parse(form.maxSessionExpiry, { unit: 'seconds', max: U32 });
    if (expiry === null) return { limits: null, problem: 'maxSessionExpiry' };
    limits.maxSessionExpiry = expiry;
  }
  return { limits, problem: null };
}
