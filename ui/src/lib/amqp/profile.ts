// The AMQP session form's logic, no markup: reading an amqp(s):// URL as RabbitMQ's URI spec
// does (guest and vhost "/" by default, %2f in the vhost), keeping a password typed into the URL
// out of the saved URL (it goes to the keychain), and checking the fields before they are sent.
// Errors are i18n keys with their parameters.
import type { AmqpProfile } from '../platform/amqp';

export const AMQP_PORT = 5672;
export const AMQPS_PORT = 5671;
export const MANAGEMENT_PORT = 15672;

export interface AmqpUrl {
  tls: boolean;
  user: string;
  /** null: none in the URL. */
  password: string | null;
  host: string;
  port: number;
  vhost: string;
}

export interface Problem {
  key: string;
  params?: Record<string, string | number>;
}

const PATTERN =
  /^(amqps?):\/\/(?:([^:@/?#]*)(?::([^@/?#]*))?@)?(\[[^\]/?#]+\]|[^:/?#@[\]]*)(?::([^/?#]*))?(?:\/([^?#]*))?(?:\?[^#]*)?$/i;

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** Reads an AMQP URL; a Problem says what is wrong with it. */
export function parseAmqpUrl(text: string): AmqpUrl | Problem {
  const url = text.trim();
  if (url === '') return { key: 'amqp.form.need-url' };
  const m = PATTERN.exec(url);
  if (!m) {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^amqps?:/i.test(url)
      ? { key: 'amqp.form.bad-scheme' }
      : { key: 'amqp.form.bad-url' };
  }
  const tls = m[1]!.toLowerCase() === 'amqps';
  const host = m[4] ?? '';
  if (host === '') return { key: 'amqp.form.need-host' };
  let port = tls ? AMQPS_PORT : AMQP_PORT;
  if (m[5] !== undefined && m[5] !== '') {
    if (!/^\d{1,5}$/.test(m[5]) || Number(m[5]) < 1 || Number(m[5]) > 65535) {
      return { key: 'amqp.form.bad-port', params: { port: m[5] } };
    }
    port = Number(m[5]);
  }
  const user = m[2] === undefined ? 'guest' : decode(m[2]);
  const password = m[3] === undefined ? null : decode(m[3]);
  // An empty path is the default vhost "/"; "/%2f" names it explicitly; "/" alone is "" (none).
  const vhost = m[6] === undefined ? '/' : decode(m[6]);
  if (user === null || (password === null && m[3] !== undefined) || vhost === null) {
    return { key: 'amqp.form.bad-escape' };
  }
  if (m[6] !== undefined && m[6].includes('/')) return { key: 'amqp.form.vhost-slash' };
  return { tls, user, password, host, port, vhost: vhost === '' ? '/' : vhost };
}

export function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'key' in value;
}

/** The URL without its password (what is saved and shown). */
export function withoutPassword(text: string): string {
  const url = text.trim();
  return url.replace(/^(amqps?:\/\/[^:@/?#]*):[^@/?#]*@/i, '$1@');
}

/** The form's fields: what the user types. */
export interface ProfileForm {
  name: string;
  url: string;
  password: string;
  /** Empty: no management API. */
  managementPort: string;
  caFile: string;
  /** Remove the stored password (an existing session). */
  forgetPassword: boolean;
}

export function newForm(): ProfileForm {
  return {
    name: '',
    url: 'amqp://guest@localhost:5672/',
    password: '',
    managementPort: String(MANAGEMENT_PORT),
    caFile: '',
    forgetPassword: false,
  };
}

export function formFromProfile(profile: AmqpProfile): ProfileForm {
  return {
    name: profile.name,
    url: profile.url,
    password: '',
    managementPort: profile.managementPort === null ? '' : String(profile.managementPort),
    caFile: profile.caFile ?? '',
    forgetPassword: false,
  };
}

/** What the save command gets: the profile and the password to store (null: keep the stored). */
export interface ProfileToSave {
  profile: AmqpProfile;
  password: string | null;
}

/**
 * Checks the form. A password in the URL is taken out of it and stored as the password (unless
 * one was typed in the password field, which wins); with neither, the stored one is kept, or
 * forgotten when the form says so.
 */
export function profileFromForm(id: string, form: ProfileForm): ProfileToSave | Problem {
  const parsed = parseAmqpUrl(form.url);
  if (isProblem(parsed)) return parsed;
  let managementPort: number | null = null;
  const port = form.managementPort.trim();
  if (port !== '') {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return { key: 'amqp.form.bad-management-port', params: { port } };
    }
    managementPort = Number(port);
  }
  const caFile = form.caFile.trim();
  if (caFile !== '' && !parsed.tls) return { key: 'amqp.form.ca-needs-amqps' };
  const name = form.name.trim() || `${parsed.host}${parsed.vhost === '/' ? '' : ` ${parsed.vhost}`}`;
  const typed = form.password !== '' ? form.password : parsed.password;
  return {
    profile: {
      id,
      name,
      url: withoutPassword(form.url),
      managementPort,
      caFile: caFile === '' ? null : caFile,
    },
    password: typed ?? (form.forgetPassword ? '' : null),
  };
}
