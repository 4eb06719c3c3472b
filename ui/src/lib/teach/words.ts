// Routing outcomes in words: why a client got a message, or why not.
import type { RoutedMessage, RoutingLine } from '../platform/teach';
import type { Words } from './sequence';

export function why(line: RoutingLine, message: RoutedMessage, w: Words): string {
  return w(`teach.w-${line.outcome}`, {
    filters: line.filters.length > 0 ? line.filters.join(', ') : w('teach.filter-gone'),
    qos: line.qos ?? '—',
    published: message.qos,
    retain: line.retain === null ? '—' : w(line.retain ? 'teach.yes' : 'teach.no'),
    group: line.group ?? '—',
    member: line.member ?? '—',
  });
}
