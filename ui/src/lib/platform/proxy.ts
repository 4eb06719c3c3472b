// The inspecting proxies' calls: the running ones, start (from the form), stop, and their client
// rows as the backend pushes them (one event per change; nothing here polls).
import { commands, events } from './bindings';
import type {
  ArmedRule,
  Fault,
  ListenKind,
  ProxyClientView_Serialize as ProxyClientView,
  ProxyForm_Deserialize as ProxyForm,
  ProxyView_Serialize as ProxyView,
} from './bindings';
import { unwrap, type Platform } from './index';

export type { ArmedRule, Fault, ListenKind, ProxyClientView, ProxyForm, ProxyView };

export interface ProxyCalls {
  list(): Promise<ProxyView[]>;
  /** Starts a proxy; rejects with `PortInUse` or `InvalidInput` (a bad URL, a missing file). */
  start(form: ProxyForm): Promise<ProxyView>;
  stop(id: string): Promise<void>;
  /** Arms a fault against a client of proxy `id`; resolves to the proxy's rules. */
  armFault(id: string, clientId: string, fault: Fault): Promise<ArmedRule[]>;
  clearFault(id: string, rule: number): Promise<ArmedRule[]>;
  /** Calls `onList` each time a proxy or a client row changes; resolves to a way to stop. */
  onChanged(onList: (list: ProxyView[]) => void): Promise<() => void>;
}

const tauriProxy: ProxyCalls = {
  list: () => unwrap(commands.proxyList()),
  start: (form) => unwrap(commands.proxyStart(form)),
  stop: async (id) => {
    await unwrap(commands.proxyStop(id));
  },
  armFault: (id, clientId, fault) => unwrap(commands.proxyFaultArm(id, clientId, fault)),
  clearFault: (id, rule) => unwrap(commands.proxyFaultClear(id, rule)),
  onChanged: (onList) => events.proxiesChanged.listen((event) => onList(event.payload)),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableProxy: ProxyCalls = {
  list: () => Promise.resolve([]),
  start: unavailable,
  stop: unavailable,
  armFault: unavailable,
  clearFault: unavailable,
  onChanged: () => Promise.resolve(() => {}),
};

/** The proxy calls of `platform` (a stand-in with no proxies outside the app). */
export function proxyOf(platform: Platform): ProxyCalls {
  return platform.kind === 'tauri' ? tauriProxy : unavailableProxy;
}

/** The traffic source of the proxy listening on port `id`. */
export function proxySource(id: string): { kind: 'proxy'; id: string } {
  return { kind: 'proxy', id };
}
