// What a fault did to a packet, read from the packet's `fault` field (set by the broker's fault
// engine: "drop", "duplicate", "delay 120", "refuse 0x87", "disconnect 0x8e", "cut"), and the
// words for it and for an armed rule, in the user's language.
import { t } from '../i18n/index.svelte';
import type { ArmedRule, Fault } from '../platform/faults';

export type MarkKind = 'drop' | 'duplicate' | 'delay' | 'refuse' | 'disconnect' | 'cut';

export interface FaultMark {
  kind: MarkKind;
  /** The mark's value after its kind: milliseconds of a delay, a reason code. */
  detail: string;
}

const KINDS: MarkKind[] = ['drop', 'duplicate', 'delay', 'refuse', 'disconnect', 'cut'];

/** The fault mark among a packet's fields, or null. */
export function faultOf(fields: { name: string; value: string }[]): FaultMark | null {
  const value = fields.find((f) => f.name === 'fault')?.value;
  if (value === undefined) return null;
  const [kind, ...rest] = value.split(' ');
  if (!KINDS.includes(kind as MarkKind)) return null;
  return { kind: kind as MarkKind, detail: rest.join(' ') };
}

/** The mark in words ("dropped by a fault", "delayed 120 ms by a fault"). */
export function markWords(mark: FaultMark): string {
  return t(`faults.mark-${mark.kind}`, { ms: mark.detail, code: mark.detail });
}

/** A reason code as the log writes it (0x87). */
export function hex(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')}`;
}

function toward(way: 'client' | 'broker'): string {
  return way === 'client' ? t('faults.toward-client') : t('faults.toward-broker');
}

/** An armed rule in words. */
export function ruleWords(fault: Fault): string {
  switch (fault.type) {
    case 'delay':
      return t('faults.rule-delay', {
        toward: toward(fault.toward),
        fixed: fault.fixedMs,
        jitter: fault.jitterMs,
      });
    case 'drop':
      return t('faults.rule-drop', {
        count: fault.count,
        kind: fault.kind.toUpperCase(),
        toward: toward(fault.toward),
      });
    case 'duplicate':
      return t('faults.rule-duplicate', { count: fault.count, toward: toward(fault.toward) });
    case 'cut':
      return t('faults.rule-cut');
    case 'pause':
      return t('faults.rule-pause');
    case 'refuse':
      return t('faults.rule-refuse', { code: hex(fault.code) });
    case 'disconnect':
      return t('faults.rule-disconnect', { code: hex(fault.code) });
  }
}

/** The rules armed for `clientId`. */
export function rulesOf(rules: ArmedRule[], clientId: string): ArmedRule[] {
  return rules.filter((r) => r.clientId === clientId);
}

/** Reason codes offered for a refused CONNECT (MQTT 5 CONNACK). */
export const REFUSE_CODES = [0x87, 0x86, 0x85, 0x88, 0x89, 0x8a, 0x84, 0x9f, 0x80];
/** Reason codes offered for a server DISCONNECT (MQTT 5). */
export const DISCONNECT_CODES = [0x98, 0x8b, 0x89, 0x8d, 0x8e, 0x93, 0x97, 0x9c, 0x82, 0x87, 0x80, 0x00];

/** A reason code with its name ("0x87 Not authorized"). */
export function codeWords(code: number): string {
  return `${hex(code)} ${t(`faults.code-${hex(code)}`)}`;
}
