// What the student page decides without a network or a page: the client id a name becomes,
// topic and filter checks, the bounded list of received messages, the broker's address.

/** The longest name kept. */
export const MAX_NAME = 24;
/** Messages kept on the page (the oldest go first). */
export const MAX_MESSAGES = 100;
/** Characters of a payload shown (the rest is cut, with an ellipsis). */
export const MAX_SHOWN = 500;

/** The client id a name becomes: the name (trimmed, control characters out) and `~` with three
 * random letters or digits, so two students with one name do not take each other over. The
 * teacher's panel counts clients whose id ends this way as students. */
export function clientId(name: string, random: () => number = Math.random): string {
  const cleaned = [...name.trim()]
    .filter((c) => c >= ' ' && c !== '\u007f')
    .slice(0, MAX_NAME)
    .join('')
    .trim();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let suffix = '';
  for (let i = 0; i < 3; i++) suffix += alphabet[Math.floor(random() * alphabet.length)] ?? 'x';
  return `${cleaned}~${suffix}`;
}

/** Whether a client id is a student's (as [`clientId`] makes them). */
export function isStudentId(id: string): boolean {
  return /~[a-z0-9]{3}$/.test(id) && id.length > 4;
}

/** A topic filter MQTT accepts: `#` only last and alone in its level, `+` alone in its level. */
export function validFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((level, i) => {
    if (level.includes('#')) return level === '#' && i === levels.length - 1;
    if (level.includes('+')) return level === '+';
    return true;
  });
}

/** A topic one may publish to: not empty, no wildcard, no NUL. */
export function validTopic(topic: string): boolean {
  return topic.length > 0 && !/[+#]/.test(topic) && !topic.includes('\u0000');
}

export interface Received {
  topic: string;
  payload: string;
  at: string;
}

/** Adds a message, keeping at most [`MAX_MESSAGES`] (newest first). */
export function keep(list: Received[], message: Received): Received[] {
  const shown =
    message.payload.length > MAX_SHOWN ? `${message.payload.slice(0, MAX_SHOWN)}…` : message.payload;
  return [{ ...message, payload: shown }, ...list].slice(0, MAX_MESSAGES);
}

/** The broker's WebSocket URL on the host that served the page. */
export function brokerUrl(location: { hostname: string }, wsPort: number): string {
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  return `ws://${host}:${wsPort}/mqtt`;
}
