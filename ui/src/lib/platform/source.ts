// Traffic sources as the backend names them: the embedded broker, one client session by its
// profile id, an inspecting proxy or an opened capture file by theirs. Typed objects, never strings to parse; this module only builds and compares them.
import type { SourceId } from './bindings';

export type { SourceId };

/** The embedded broker: every client's packets. */
export const brokerSource: SourceId = { kind: 'broker' };

/** One client session's traffic. */
export function sessionSource(id: string): SourceId {
  return { kind: 'session', id };
}

/** True when both name the same source (sources arrive as fresh objects from every call). */
export function sameSource(
  a: SourceId | null | undefined,
  b: SourceId | null | undefined,
): boolean {
  if (!a || !b) return false;
  if (a.kind === 'broker' || b.kind === 'broker') return a.kind === b.kind;
  return a.kind === b.kind && a.id === b.id;
}

/** A string naming a source, for map keys and {#each} / {#key} blocks; never parsed back. */
export function sourceKey(source: SourceId): string {
  return source.kind === 'broker' ? 'broker' : `${source.kind}/${source.id}`;
}

/** True for a client session's source (seen from a session, inbound comes from its broker). */
export function isSession(source: SourceId): source is { kind: 'session'; id: string } {
  return source.kind === 'session';
}

/**
 * The source a window starts on, from its page's query (`?source=<JSON of a SourceId>`, as the
 * backend's `window_open` writes it). Anything but `{ kind: 'broker' }` or `{ kind: 'session' |
 * 'proxy' | 'capture', id: '<non-empty string>' }` exactly (a missing or broken query, other
 * kinds, extra fields) shows the broker.
 */
export function sourceFromQuery(search: string): SourceId {
  const text = new URLSearchParams(search).get('source');
  if (text === null) return brokerSource;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return brokerSource;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return brokerSource;
  const fields = value as Record<string, unknown>;
  const keys = Object.keys(fields).sort().join(',');
  if (keys === 'id,kind' && typeof fields.id === 'string' && fields.id !== '') {
    const id = fields.id;
    if (fields.kind === 'session') return sessionSource(id);
    if (fields.kind === 'proxy') return { kind: 'proxy', id };
    if (fields.kind === 'capture') return { kind: 'capture', id };
  }
  return brokerSource;
}
