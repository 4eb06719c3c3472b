// The one door between the UI and its host. Only this folder imports @tauri-apps/* (eslint and a
// test enforce it), so the UI can later run over another transport (a browser mode is planned).
// Nothing here polls: traffic arrives as frames on a viewer's channel, and the broker's status,
// its clients and the sessions as events the backend pushes when they change.
import { Channel } from '@tauri-apps/api/core';
import { commands, events } from './bindings';
import type {
  AppInfo,
  BrokerSettingsInput,
  BrokerStatus_Serialize,
  ChartLabels,
  ValueChartImage,
  ClientView,
  ErrorCode,
  IpcError,
  NoticeView,
  PacketExport,
  PacketKind,
  PacketPage_Serialize,
  PacketRow_Serialize,
  PreferencesView_Serialize,
  Preferences_Serialize,
  SourceId,
  TrafficFrame,
  TreeRow,
  BrokerAnswer,
  ConnectionState_Serialize,
  MessageProperties_Serialize,
  MqttVersion,
  ParsedUrl_Serialize,
  PasswordStorage,
  PayloadInput,
  Profile_Serialize,
  PublishRequest_Serialize,
  RetainHandling,
  SessionSaved_Serialize,
  SessionSubscription_Serialize,
  SessionView_Serialize,
  SessionsOverview_Serialize,
  Subscription_Serialize,
  SubscriptionStatus,
  TlsOptions_Serialize,
  LimitsView_Serialize,
  TransportKind,
  UserProperty,
  Will_Serialize,
} from './bindings';

/** A page of the packet log, newest first, as the backend sends it. */
export type PacketPage = PacketPage_Serialize;
/** One packet of the log. */
export type PacketRow = PacketRow_Serialize;

/** The broker's state as the backend sends it (every optional field present, possibly null). */
export type BrokerStatus = BrokerStatus_Serialize;

/** A saved connection profile (every field present). */
export type Profile = Profile_Serialize;
/** A session as the UI shows it: profile, connection state, subscriptions and their status. */
export type SessionView = SessionView_Serialize;
/** Every session, and where profiles and passwords are kept. */
export type SessionsOverview = SessionsOverview_Serialize;
/** A saved session, with a note when its password could not go to the keychain. */
export type SessionSaved = SessionSaved_Serialize;
/** A subscription and how the broker answered it. */
export type SessionSubscription = SessionSubscription_Serialize;
/** One subscription of a session (filter, QoS and MQTT 5 options). */
export type Subscription = Subscription_Serialize;
/** MQTT 5 properties of a message or a will. */
export type MessageProperties = MessageProperties_Serialize;
/** A message to publish from a session. */
export type PublishRequest = PublishRequest_Serialize;
/** What a connection URL says. */
export type ParsedUrl = ParsedUrl_Serialize;
/** Where a session's connection is (every field present). */
export type ConnectionState = ConnectionState_Serialize;
export type TlsOptions = TlsOptions_Serialize;
/** The broker's limits, as the settings form edits them. */
export type LimitsView = LimitsView_Serialize;
export type Will = Will_Serialize;
export type Preferences = Preferences_Serialize;
export type PreferencesView = PreferencesView_Serialize;

export type {
  BrokerAnswer,
  SourceId,
  ChartLabels,
  ValueChartImage,
  AppInfo,
  BrokerSettingsInput,
  ClientView,
  ErrorCode,
  IpcError,
  NoticeView,
  PacketExport,
  PacketKind,
  TrafficFrame,
  TreeRow,
  MqttVersion,
  PasswordStorage,
  PayloadInput,
  RetainHandling,
  SubscriptionStatus,
  TransportKind,
  UserProperty,
};

export {
  brokerSource,
  isSession,
  sameSource,
  sessionSource,
  sourceFromQuery,
  sourceKey,
} from './source';

/**
 * One open view of a source (a pane or window): its own expanded nodes, filter, rows on screen
 * and charted node. Opened by trafficWatch, closed by trafficUnwatch.
 */
export type ViewerId = number;

/** Stops listening to a pushed event. */
export type Unsubscribe = () => void;

/** One stored message of a topic. */
export interface StoredMessage {
  timeMs: number;
  qos: number;
  retain: boolean;
  payload: Uint8Array;
  /** MQTT 5 properties (content type, user properties...), where the backend decoded them. */
  properties: { name: string; value: string }[];
}

/**
 * Decodes the binary message list the backend sends: per message a big-endian u64 time in ms,
 * u8 QoS, u8 retain, u32 length, the payload bytes, then a u16 count of properties, each a
 * u16-length name and a u32-length value in UTF-8.
 */
export function decodeMessages(buffer: ArrayBuffer): StoredMessage[] {
  const view = new DataView(buffer);
  const utf8 = new TextDecoder();
  const messages: StoredMessage[] = [];
  let at = 0;
  const fits = (n: number) => at + n <= buffer.byteLength;
  const text = (length: number) => utf8.decode(new Uint8Array(buffer, at - length, length));
  while (fits(14)) {
    const timeMs = Number(view.getBigUint64(at));
    const qos = view.getUint8(at + 8);
    const retain = view.getUint8(at + 9) === 1;
    const length = view.getUint32(at + 10);
    at += 14;
    if (!fits(length + 2)) break; // truncated: keep what is whole
    const payload = new Uint8Array(buffer.slice(at, at + length));
    at += length;
    const count = view.getUint16(at);
    at += 2;
    const properties: { name: string; value: string }[] = [];
    for (let i = 0; i < count; i++) {
      if (!fits(2)) return messages;
      const nameLength = view.getUint16(at);
      at += 2;
      if (!fits(nameLength + 4)) return messages;
      at += nameLength;
      const name = text(nameLength);
      const valueLength = view.getUint32(at);
      at += 4;
      if (!fits(valueLength)) return messages;
      at += valueLength;
      properties.push({ name, value: text(valueLength) });
    }
    messages.push({ timeMs, qos, retain, payload, properties });
  }
  return messages;
}

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
  /** Calls `onStatus` with the broker's status each time it changes; resolves to a way to stop. */
  onBrokerChanged(onStatus: (status: BrokerStatus) => void): Promise<Unsubscribe>;
  /** Calls `onClients` with the broker's clients each time they connect, subscribe or leave. */
  onClientsChanged(onClients: (clients: ClientView[]) => void): Promise<Unsubscribe>;
  /** Calls `onSessions` with every session each time a state, subscription or profile changes. */
  onSessionsChanged(onSessions: (overview: SessionsOverview) => void): Promise<Unsubscribe>;
  /**
   * Opens a viewer of `source` and resolves to its id. Its frames go to `onFrame`: the first at
   * once, then when something it shows changed (about 30 a second at most), and once a second
   * while the source had traffic in the last minute; then none.
   */
  trafficWatch(source: SourceId, onFrame: (frame: TrafficFrame) => void): Promise<ViewerId>;
  /** Closes a viewer: no more frames for it. */
  trafficUnwatch(viewer: ViewerId): Promise<void>;
  /** Which rows a viewer shows, and its filter (substring, or a topic filter with + or #). */
  trafficView(viewer: ViewerId, from: number, count: number, filter: string): Promise<void>;
  trafficExpand(viewer: ViewerId, node: number, expanded: boolean): Promise<void>;
  trafficExpandAll(viewer: ViewerId, expanded: boolean): Promise<void>;
  /** Forgets a source's traffic (for every viewer of it). */
  trafficClear(source: SourceId): Promise<void>;
  /** Deletes the retained messages at and below a node; resolves to how many. */
  trafficDeleteRetained(source: SourceId, node: number): Promise<number>;
  /** The latest connection notices (connects, refusals, disconnects and why), newest first. */
  trafficNotices(source: SourceId, limit: number): Promise<NoticeView[]>;
  /** The newest packets of the log, filtered by client id (substring) and type. */
  trafficPackets(source: SourceId, count: number, client: string, kind: PacketKind | null): Promise<PacketPage>;
  /** Saves the packet log (what passes the filters, oldest first) as JSON Lines in Downloads. */
  trafficExportPackets(source: SourceId, client: string, kind: PacketKind | null): Promise<PacketExport>;
  /** A topic's stored messages, newest first. */
  trafficMessages(source: SourceId, node: number, limit: number): Promise<StoredMessage[]>;
  /** Saves bytes as a new file in the Downloads folder; resolves to the path written. */
  saveToDownloads(fileName: string, bytes: Uint8Array): Promise<string>;
  /**
   * A rate chart of a viewer's source as SVG text: its rates (node null) or one topic's (the
   * viewer's charted node), last 60 s.
   */
  trafficChart(
    viewer: ViewerId,
    node: number | null,
    dark: boolean,
    width: number,
    height: number,
    labels: ChartLabels,
  ): Promise<string>;
  /**
   * One number over a topic's kept messages, as SVG: the payload itself (pointer '') or the JSON
   * field a pointer names ('/sensors/0/celsius'); with how many messages held one.
   */
  trafficValueChart(
    source: SourceId,
    node: number,
    pointer: string,
    dark: boolean,
    width: number,
    height: number,
    utcOffsetMinutes: number,
    label: string,
  ): Promise<ValueChartImage>;
  /** Every session, and where profiles and passwords are kept. */
  sessionList(): Promise<SessionsOverview>;
  /** Creates (empty id) or updates a profile; password: null keeps the stored one, '' removes it. */
  sessionSave(profile: Profile, password: string | null): Promise<SessionSaved>;
  sessionDelete(id: string): Promise<void>;
  /** Starts connecting; the state moves on by itself (pushed to onSessionsChanged). */
  sessionConnect(id: string): Promise<SessionView>;
  /** graceful: send DISCONNECT; otherwise drop the connection as a crash would (the will fires). */
  sessionDisconnect(id: string, graceful: boolean): Promise<SessionView>;
  /** Adds or changes (same filter) a subscription; sent at once when connected. */
  sessionSubscribe(id: string, subscription: Subscription): Promise<SessionView>;
  sessionUnsubscribe(id: string, filter: string): Promise<SessionView>;
  /** Publishes from a connected session; resolves to the payload size in bytes. */
  sessionPublish(id: string, request: PublishRequest): Promise<number>;
  /** Reads a URL such as mqtt://user@host:1883 or wss://host/mqtt into profile fields. */
  sessionParseUrl(url: string): Promise<ParsedUrl>;
  /** Checks a payload (JSON, hex, base64...) and resolves to its size in bytes. */
  sessionCheckPayload(payload: PayloadInput): Promise<number>;
  /**
   * Opens another app window on `source`: a whole UI of its own (its own viewer, filter,
   * expansion and selection), over the same backend.
   */
  /** Opens another window on `source`, on the view (tab) `view` when given. */
  windowOpen(source: SourceId, view?: string): Promise<void>;
  /** The app's preferences (the settings page), their defaults, and a note on the file. */
  preferencesGet(): Promise<PreferencesView>;
  /** Checks and saves the preferences; refused values name their range. */
  preferencesSet(preferences: Preferences): Promise<PreferencesView>;
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

/**
 * The value of a command that rejects with the backend's `{ code, message }` itself (instead of
 * resolving to an outcome), or a thrown PlatformError.
 */
export async function settled<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (isIpcError(error)) throw new PlatformError(error.code, error.message);
    throw error;
  }
}

function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Base64 of any size (btoa over chunks: a spread of millions of bytes would overflow the stack). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  }
  return btoa(binary);
}

const tauriPlatform: Platform = {
  kind: 'tauri',
  appInfo: () => commands.appInfo(),
  brokerStatus: () => unwrap(commands.brokerStatus()),
  brokerStart: (settings) => unwrap(commands.brokerStart(settings ?? null)),
  brokerStop: () => unwrap(commands.brokerStop()),
  brokerClients: () => unwrap(commands.brokerClients()),
  onBrokerChanged: (onStatus) => events.brokerChanged.listen((event) => onStatus(event.payload)),
  onClientsChanged: (onClients) =>
    events.clientsChanged.listen((event) => onClients(event.payload)),
  onSessionsChanged: (onSessions) =>
    events.sessionsChanged.listen((event) => onSessions(event.payload)),
  trafficWatch: (source, onFrame) => {
    const channel = new Channel<TrafficFrame>();
    channel.onmessage = onFrame;
    return settled(commands.trafficWatch(source, channel));
  },
  trafficUnwatch: (viewer) => settled(commands.trafficUnwatch(viewer)),
  trafficView: async (viewer, from, count, filter) => {
    await unwrap(commands.trafficView(viewer, from, count, filter));
  },
  trafficExpand: async (viewer, node, expanded) => {
    await unwrap(commands.trafficExpand(viewer, node, expanded));
  },
  trafficExpandAll: async (viewer, expanded) => {
    await unwrap(commands.trafficExpandAll(viewer, expanded));
  },
  trafficClear: (source) => settled(commands.trafficClear(source)),
  trafficDeleteRetained: (source, node) => unwrap(commands.trafficDeleteRetained(source, node)),
  trafficNotices: (source, limit) => unwrap(commands.trafficNotices(source, limit)),
  trafficPackets: (source, count, client, kind) =>
    unwrap(commands.trafficPackets(source, count, client, kind)),
  trafficMessages: async (source, node, limit) =>
    decodeMessages((await unwrap(commands.trafficMessages(source, node, limit))) as ArrayBuffer),
  saveToDownloads: (fileName, bytes) => unwrap(commands.saveToDownloads(fileName, toBase64(bytes))),
  trafficExportPackets: (source, client, kind) =>
    unwrap(commands.trafficExportPackets(source, client, kind)),
  trafficChart: (viewer, node, dark, width, height, labels) =>
    unwrap(commands.trafficChart(viewer, node, dark, width, height, labels)),
  trafficValueChart: (source, node, pointer, dark, width, height, utcOffsetMinutes, label) =>
    unwrap(
      commands.trafficValueChart(source, node, pointer, dark, width, height, utcOffsetMinutes, label),
    ),
  sessionList: () => commands.sessionList(),
  sessionSave: (profile, password) => unwrap(commands.sessionSave(profile, password)),
  sessionDelete: async (id) => {
    await unwrap(commands.sessionDelete(id));
  },
  sessionConnect: (id) => unwrap(commands.sessionConnect(id)),
  sessionDisconnect: (id, graceful) => unwrap(commands.sessionDisconnect(id, graceful)),
  sessionSubscribe: (id, subscription) => unwrap(commands.sessionSubscribe(id, subscription)),
  sessionUnsubscribe: (id, filter) => unwrap(commands.sessionUnsubscribe(id, filter)),
  sessionPublish: (id, request) => unwrap(commands.sessionPublish(id, request)),
  sessionParseUrl: (url) => unwrap(commands.sessionParseUrl(url)),
  sessionCheckPayload: (payload) => unwrap(commands.sessionCheckPayload(payload)),
  preferencesGet: () => settled(commands.preferencesGet()),
  preferencesSet: (preferences) => unwrap(commands.preferencesSet(preferences)),
  windowOpen: async (source, view) => {
    await unwrap(commands.windowOpen(source, view ?? null));
  },
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
  preferencesGet: unavailable,
  preferencesSet: unavailable,
  brokerStatus: unavailable,
  brokerStart: unavailable,
  brokerStop: unavailable,
  brokerClients: unavailable,
  onBrokerChanged: unavailable,
  onClientsChanged: unavailable,
  onSessionsChanged: unavailable,
  trafficWatch: unavailable,
  trafficUnwatch: unavailable,
  trafficView: unavailable,
  trafficExpand: unavailable,
  trafficExpandAll: unavailable,
  trafficClear: unavailable,
  trafficMessages: unavailable,
  trafficDeleteRetained: unavailable,
  trafficNotices: unavailable,
  trafficPackets: unavailable,
  saveToDownloads: unavailable,
  trafficChart: unavailable,
  trafficExportPackets: unavailable,
  trafficValueChart: unavailable,
  sessionList: unavailable,
  sessionSave: unavailable,
  sessionDelete: unavailable,
  sessionConnect: unavailable,
  sessionDisconnect: unavailable,
  sessionSubscribe: unavailable,
  sessionUnsubscribe: unavailable,
  sessionPublish: unavailable,
  sessionParseUrl: unavailable,
  sessionCheckPayload: unavailable,
  windowOpen: unavailable,
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
