// Fault injection calls for the embedded broker's clients: the armed rules, arming one, clearing
// one, a client's or all; the rules as the backend pushes them when they change (armed, cleared,
// used up by a connection). Nothing here polls.
import { commands, events } from './bindings';
import type { ArmedRule, Fault, Toward } from './bindings';
import { unwrap, type Platform } from './index';

export type { ArmedRule, Fault, Toward };

export interface FaultCalls {
  list(): Promise<ArmedRule[]>;
  /** Arms `fault` against `clientId`; rejects with `InvalidInput` for a bad value. */
  arm(clientId: string, fault: Fault): Promise<ArmedRule[]>;
  clear(id: number): Promise<ArmedRule[]>;
  /** Clears every rule of `clientId`, or of everyone when null. */
  clearClient(clientId: string | null): Promise<ArmedRule[]>;
  /** Calls `onRules` each time the rules change; resolves to a way to stop. */
  onChanged(onRules: (rules: ArmedRule[]) => void): Promise<() => void>;
}

const tauriFaults: FaultCalls = {
  list: () => unwrap(commands.faultsList()),
  arm: (clientId, fault) => unwrap(commands.faultsArm(clientId, fault)),
  clear: (id) => unwrap(commands.faultsClear(id)),
  clearClient: (clientId) => unwrap(commands.faultsClearClient(clientId)),
  onChanged: (onRules) => events.faultsChanged.listen((event) => onRules(event.payload)),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableFaults: FaultCalls = {
  list: () => Promise.resolve([]),
  arm: unavailable,
  clear: unavailable,
  clearClient: unavailable,
  onChanged: () => Promise.resolve(() => {}),
};

/**
 * The fault calls of `platform` (a stand-in without rules outside the app; a test's platform may
 * carry its own as `faults`).
 */
export function faultsOf(platform: Platform): FaultCalls {
  const own = (platform as Platform & { faults?: FaultCalls }).faults;
  if (own) return own;
  return platform.kind === 'tauri' ? tauriFaults : unavailableFaults;
}
