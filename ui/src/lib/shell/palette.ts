// What the command palette (Ctrl/Cmd+K) offers, and how typed text picks among it: every word
// typed must appear in the item's label or detail, in any order, ignoring case; the items whose
// label starts with the text come first.

export type PaletteGroup = 'source' | 'view' | 'action' | 'topic';

export interface PaletteItem {
  id: string;
  group: PaletteGroup;
  /** What it says (already translated; a topic or a session's name is plain text). */
  label: string;
  detail?: string;
  run: () => void;
}

/** The items matching `text`, best first, at most `limit`. */
export function matchItems(items: PaletteItem[], text: string, limit = 50): PaletteItem[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return items.slice(0, limit);
  const scored: { item: PaletteItem; score: number; index: number }[] = [];
  items.forEach((item, index) => {
    const label = item.label.toLowerCase();
    const hay = `${label} ${(item.detail ?? '').toLowerCase()}`;
    if (!words.every((w) => hay.includes(w))) return;
    const whole = text.trim().toLowerCase();
    const score = label.startsWith(whole) ? 0 : label.includes(whole) ? 1 : 2;
    scored.push({ item, score, index });
  });
  scored.sort((a, b) => a.score - b.score || a.index - b.index);
  return scored.slice(0, limit).map((s) => s.item);
}
