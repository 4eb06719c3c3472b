// The profile editor's form: plain strings, numbers and flags the inputs bind to, and the
// conversions between it and a Profile. Everything the form does not show (subscriptions, will
// properties it has no field for) is carried over from the saved profile untouched.
import type { MqttVersion, Profile, TransportKind } from '../platform';
import { noProperties } from './compose';

/** The port each transport usually listens on (the backend fills the same in from URLs). */
export const DEFAULT_PORTS: Record<TransportKind, number> = {
  tcp: 1883,
  tls: 8883,
  ws: 80,
  wss: 443,
};

export const TRANSPORTS: TransportKind[] = ['tcp', 'tls', 'ws', 'wss'];
export const VERSIONS: MqttVersion[] = ['V311', 'V5'];

/** Matches the backend's defaults for a new profile. */
export const DEFAULT_KEEP_ALIVE = 60;
export const DEFAULT_MAX_PACKET_SIZE = 64 * 1024 * 1024;

export interface ProfileForm {
  name: string;
  host: string;
  /** Number inputs bind null when empty. */
  port: number | null;
  transport: TransportKind;
  wsPath: string;
  version: MqttVersion;
  clientId: string;
  username: string;
  /** Empty: keep the stored password (if any). */
  password: string;
  forgetPassword: boolean;
  keepAlive: number | null;
  cleanStart: boolean;
  sessionExpiry: number | null;
  maxPacketSize: number | null;
  autoReconnect: boolean;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  acceptInvalidCerts: boolean;
  willEnabled: boolean;
  willTopic: string;
  willPayload: string;
  willQos: number;
  willRetain: boolean;
  willContentType: string;
  willMessageExpiry: number | null;
  willDelay: number | null;
}

/** A profile not saved yet: a local broker over plain TCP, MQTT 5. */
export function newProfile(): Profile {
  return {
    id: '',
    name: '',
    host: 'localhost',
    port: DEFAULT_PORTS.tcp,
    transport: 'tcp',
    wsPath: '/mqtt',
    version: 'V5',
    clientId: '',
    username: null,
    keepAlive: DEFAULT_KEEP_ALIVE,
    cleanStart: true,
    sessionExpiry: null,
    will: null,
    tls: { caFile: null, clientCertFile: null, clientKeyFile: null, acceptInvalidCerts: false },
    maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
    autoReconnect: true,
    subscriptions: [],
  };
}

export function formFromProfile(profile: Profile): ProfileForm {
  const will = profile.will;
  return {
    name: profile.name,
    host: profile.host,
    port: profile.port,
    transport: profile.transport,
    wsPath: profile.wsPath,
    version: profile.version,
    clientId: profile.clientId,
    username: profile.username ?? '',
    password: '',
    forgetPassword: false,
    keepAlive: profile.keepAlive,
    cleanStart: profile.cleanStart,
    sessionExpiry: profile.sessionExpiry,
    maxPacketSize: profile.maxPacketSize,
    autoReconnect: profile.autoReconnect,
    caFile: profile.tls.caFile ?? '',
    clientCertFile: profile.tls.clientCertFile ?? '',
    clientKeyFile: profile.tls.clientKeyFile ?? '',
    acceptInvalidCerts: profile.tls.acceptInvalidCerts,
    willEnabled: will !== null,
    willTopic: will?.topic ?? '',
    willPayload: will?.payload ?? '',
    willQos: will?.qos ?? 0,
    willRetain: will?.retain ?? false,
    willContentType: will?.properties.contentType ?? '',
    willMessageExpiry: will?.properties.messageExpiry ?? null,
    willDelay: will?.properties.willDelay ?? null,
  };
}

const orNull = (text: string): string | null => (text.trim() === '' ? null : text.trim());

/**
 * The profile to save: `base` (the saved profile, or a new one) with the form's values. Empty
 * numbers go as 0 so the backend names the field in its refusal rather than the UI guessing.
 */
export function profileFromForm(form: ProfileForm, base: Profile | null): Profile {
  const start = base ?? newProfile();
  const v5 = form.version === 'V5';
  const willProperties = start.will?.properties ?? noProperties();
  return {
    ...start,
    name: form.name.trim(),
    host: form.host.trim(),
    port: form.port ?? 0,
    transport: form.transport,
    wsPath: form.wsPath.trim(),
    version: form.version,
    clientId: form.clientId,
    username: form.username === '' ? null : form.username,
    keepAlive: form.keepAlive ?? 0,
    cleanStart: form.cleanStart,
    sessionExpiry: v5 ? form.sessionExpiry : null,
    maxPacketSize: form.maxPacketSize ?? 0,
    autoReconnect: form.autoReconnect,
    tls: {
      caFile: orNull(form.caFile),
      clientCertFile: orNull(form.clientCertFile),
      clientKeyFile: orNull(form.clientKeyFile),
      acceptInvalidCerts: form.acceptInvalidCerts,
    },
    will: form.willEnabled
      ? {
          topic: form.willTopic,
          payload: form.willPayload,
          qos: form.willQos,
          retain: form.willRetain,
          properties: v5
            ? {
                ...willProperties,
                contentType: orNull(form.willContentType),
                messageExpiry: form.willMessageExpiry,
                willDelay: form.willDelay,
              }
            : willProperties,
        }
      : null,
  };
}

/** What sessionSave takes: null keeps the stored password, '' removes it. */
export function passwordToSend(form: ProfileForm): string | null {
  if (form.forgetPassword) return '';
  return form.password === '' ? null : form.password;
}

/** The port after switching transport: follows along while it is still the old default. */
export function portForTransport(
  port: number | null,
  from: TransportKind,
  to: TransportKind,
): number | null {
  return port === null || port === DEFAULT_PORTS[from] ? DEFAULT_PORTS[to] : port;
}
