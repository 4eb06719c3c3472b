// Who of the broker's clients are students: the student page names its client `<name>~abc` (three
// random letters or digits, see ui/src/student/room.ts), so the teacher sees names.
import type { ClientView } from '../platform';

const STUDENT = /^(.+)~[a-z0-9]{3}$/;

/** Whether a client id is a student's. */
export function isStudent(clientId: string): boolean {
  return STUDENT.test(clientId);
}

/** The students among `clients`: their names, sorted, and their client ids. */
export function students(clients: ClientView[]): { name: string; clientId: string }[] {
  return clients
    .flatMap((c) => {
      const match = STUDENT.exec(c.clientId);
      return match?.[1] ? [{ name: match[1], clientId: c.clientId }] : [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A port typed in a field: 1 to 65535, or null. */
export function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text.trim())) return null;
  const port = Number(text.trim());
  return port >= 1 && port <= 65535 ? port : null;
}
