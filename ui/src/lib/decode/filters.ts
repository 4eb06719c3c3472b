// MQTT topic filter matching, as the backend's schema mappings use it: `+` one level, `#` the
// rest, `$` topics only by filters that name their first level.
import type { TopicMapping } from '../platform/decode';

export function filterMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The message type the first matching mapping names for `topic`. */
export function mappedType(mappings: TopicMapping[], topic: string): string | null {
  const found = mappings.find((m) => filterMatches(m.filter, topic));
  return found ? found.messageType.replace(/^\./, '') : null;
}
