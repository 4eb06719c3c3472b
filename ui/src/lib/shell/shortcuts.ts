// The app's keyboard shortcuts, in the conventions of desktop apps: Ctrl on Windows and Linux,
// Cmd on macOS. One table drives the key handling, the help list (`?`) and the hints shown next
// to each action.

export type ShortcutAction =
  | 'palette'
  | 'filter'
  | 'new-session'
  | 'settings'
  | 'help'
  | 'send'
  | 'tab-topics'
  | 'tab-packets'
  | 'tab-publish';

export interface Shortcut {
  action: ShortcutAction;
  /** The key as KeyboardEvent.key reports it (lower case for letters). */
  key: string;
  /** Needs Ctrl (Cmd on macOS). */
  mod: boolean;
  /** The i18n key of what it does. */
  label: string;
  /** Works while typing in a field too (the others are left to the field). */
  inFields?: boolean;
}

export const SHORTCUTS: Shortcut[] = [
  { action: 'palette', key: 'k', mod: true, label: 'shell.key.palette', inFields: true },
  { action: 'filter', key: 'f', mod: true, label: 'shell.key.filter', inFields: true },
  { action: 'new-session', key: 'n', mod: true, label: 'shell.key.new-session', inFields: true },
  { action: 'settings', key: ',', mod: true, label: 'shell.key.settings', inFields: true },
  { action: 'send', key: 'Enter', mod: true, label: 'shell.key.send', inFields: true },
  { action: 'tab-topics', key: '1', mod: true, label: 'shell.key.tab-topics', inFields: true },
  { action: 'tab-packets', key: '2', mod: true, label: 'shell.key.tab-packets', inFields: true },
  { action: 'tab-publish', key: '3', mod: true, label: 'shell.key.tab-publish', inFields: true },
  { action: 'help', key: '?', mod: false, label: 'shell.key.help' },
];

/** Whether this computer is a Mac (Cmd instead of Ctrl). */
export function isMac(platform: string = globalThis.navigator?.platform ?? ''): boolean {
  return /mac|iphone|ipad/i.test(platform);
}

/** The shortcut as the user reads it: "Ctrl+K", "⌘K", "?". */
export function shortcutText(shortcut: Shortcut, mac: boolean = isMac()): string {
  const key = shortcut.key === 'Enter' ? (mac ? '↩' : 'Enter') : shortcut.key.toUpperCase();
  if (!shortcut.mod) return shortcut.key;
  return mac ? `⌘${key}` : `Ctrl+${key}`;
}

export function shortcutOf(action: ShortcutAction): Shortcut {
  const found = SHORTCUTS.find((s) => s.action === action);
  if (!found) throw new Error(`no shortcut for ${action}`);
  return found;
}

interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: EventTarget | null;
}

/** The action a key press asks for, if any (`mac`: Cmd is the modifier, else Ctrl). */
export function actionFor(event: KeyLike, mac: boolean = isMac()): ShortcutAction | null {
  if (event.altKey) return null;
  const mod = mac ? event.metaKey : event.ctrlKey;
  const other = mac ? event.ctrlKey : event.metaKey;
  if (other) return null;
  const target = event.target as { closest?: (selector: string) => unknown } | null;
  const typing = Boolean(target?.closest?.('input, textarea, select, [contenteditable]'));
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  for (const shortcut of SHORTCUTS) {
    if (shortcut.key !== key || shortcut.mod !== mod) continue;
    if (typing && !shortcut.inFields) return null;
    return shortcut.action;
  }
  return null;
}
