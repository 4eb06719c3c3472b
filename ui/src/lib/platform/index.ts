// The one door between the UI and its host. Only this folder imports @tauri-apps/* (eslint and a
// test enforce it), so the UI can later run over another transport (a browser mode is planned).
import { commands } from './bindings';
import type {
  AppInfo,
  BrokerSettingsInput,
  BrokerStatus_Serialize,
  ClientView,
  ErrorCode,
  IpcError,
} from './bindings';

/** The broker's state as the backend sends it (every optional field present, possibly null). */
export type BrokerStatus = BrokerStatus_Serialize;

export type { AppInfo, BrokerSettingsInput, ClientView, ErrorCode, IpcError };

/** Everything the UI asks of the backend. */
export interface Platform {
  /** A short name of the transport, shown in diagnostics. */
  readonly kind: 'tauri' | 'unavailable';
  appInfo(): Promise<AppInfo>;
  brokerStatus(): Promise<BrokerStatus>;
  /** Starts or restarts the embedded broker, with new settings when given. */
  brokerStart(settings?: BrokerSettingsInput): Promise<BrokerStatus>;
  brokerStop(): Promise<BrokerStatus>;
  brokerClients(): Promise<ClientView[]>;
}

/** Thrown by a platform call that failed; carries the backend's `{ code, message }`. */
export class PlatformError extends Error {
  readonly code: ErrorCode | 'Unavailable';
  constructor(code: ErrorCode | 'Unavailable', message: string) {
    super(message);
    this.name = 'PlatformError';
    this.code = code;
  }
}

type Outcome<T> = { status: 'ok'; data: T } | { status: 'error'; error: IpcError };

/** Turns a command's `{ status, data | error }` into a value or a thrown PlatformError. */
export async function unwrap<T>(outcome: Promise<Outcome<T>>): Promise<T> {
  const result = await outcome;
  if (result.status === 'ok') return result.data;
  throw new PlatformError(result.error.code, result.error.message);
}

const tauriPlatform: Platform = {
  kind: 'tauri',
  appInfo: () => commands.appInfo(),
  brokerStatus: () => unwrap(commands.brokerStatus()),
  brokerStart: (settings) => unwrap(commands.brokerStart(settings ?? null)),
  brokerStop: () => unwrap(commands.brokerStop()),
  brokerClients: () => unwrap(commands.brokerClients()),
};

function unavailable(): Promise<never> {
  return Promise.reject(
    new PlatformError(
      'Unavailable',
      'This page is running outside MQTT Workbench, so there is no backend to talk to.',
    ),
  );
}

/** Used when the page is opened outside the app (for example `npm run dev` in a browser). */
const unavailablePlatform: Platform = {
  kind: 'unavailable',
  appInfo: unavailable,
  brokerStatus: unavailable,
  brokerStart: unavailable,
  brokerStop: unavailable,
  brokerClients: unavailable,
};

/** True when the page runs inside the Tauri webview. */
export function insideTauri(scope: object = globalThis): boolean {
  return '__TAURI_INTERNALS__' in scope;
}

/** The platform for this page: the app's backend inside Tauri, otherwise an explicit stand-in. */
export function detectPlatform(scope: object = globalThis): Platform {
  return insideTauri(scope) ? tauriPlatform : unavailablePlatform;
}

/** A sentence for any error a platform call can raise. */
export function describeError(error: unknown): string {
  if (error instanceof PlatformError) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const message = (error as { message: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return String(error);
}
