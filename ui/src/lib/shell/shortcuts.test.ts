import { describe, expect, it } from 'vitest';
import { actionFor, shortcutOf, shortcutText, SHORTCUTS } from './shortcuts';

const key = (k: string, extra: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean; target: EventTarget | null }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  target: null,
  ...extra,
});

describe('shortcuts', () => {
  it('maps Ctrl on Linux and Windows, Cmd on macOS', () => {
    expect(actionFor(key('k', { ctrlKey: true }), false)).toBe('palette');
    expect(actionFor(key('K', { ctrlKey: true }), false)).toBe('palette');
    expect(actionFor(key('k', { metaKey: true }), false)).toBeNull();
    expect(actionFor(key('k', { metaKey: true }), true)).toBe('palette');
    expect(actionFor(key('k', { ctrlKey: true }), true)).toBeNull();
    expect(actionFor(key('n', { ctrlKey: true }), false)).toBe('new-session');
    expect(actionFor(key('f', { ctrlKey: true }), false)).toBe('filter');
    expect(actionFor(key('Enter', { ctrlKey: true }), false)).toBe('send');
    expect(actionFor(key('k', { ctrlKey: true, altKey: true }), false)).toBeNull();
  });

  it('leaves plain keys to the field being typed in', () => {
    const field = document.createElement('input');
    document.body.append(field);
    expect(actionFor(key('?'), false)).toBe('help');
    expect(actionFor(key('?', { target: field }), false)).toBeNull();
    expect(actionFor(key('k', { ctrlKey: true, target: field }), false)).toBe('palette');
    field.remove();
  });

  it('reads as the platform writes it, and every action has one key', () => {
    expect(shortcutText(shortcutOf('palette'), false)).toBe('Ctrl+K');
    expect(shortcutText(shortcutOf('palette'), true)).toBe('⌘K');
    expect(shortcutText(shortcutOf('help'), false)).toBe('?');
    const combos = SHORTCUTS.map((s) => `${s.mod}:${s.key}`);
    expect(new Set(combos).size).toBe(combos.length);
  });
});
