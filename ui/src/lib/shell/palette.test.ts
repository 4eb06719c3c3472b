import { describe, expect, it } from 'vitest';
import { matchItems, type PaletteItem } from './palette';

const item = (label: string, detail?: string): PaletteItem => ({
  id: label,
  group: 'view',
  label,
  detail,
  run: () => {},
});

describe('command palette matching', () => {
  const items = [item('Topics'), item('Packets'), item('New session'), item('plant EMQX', 'mqtt://emqx:1883'), item('Sequence diagram')];

  it('keeps every item for no text and matches words in any order', () => {
    expect(matchItems(items, '')).toHaveLength(items.length);
    expect(matchItems(items, 'session new').map((i) => i.label)).toEqual(['New session']);
    expect(matchItems(items, 'emqx 1883').map((i) => i.label)).toEqual(['plant EMQX']);
    expect(matchItems(items, 'nothing like it')).toEqual([]);
  });

  it('puts labels that start with the text first', () => {
    const found = matchItems([item('Subscribe sequence'), item('Sequence diagram')], 'seq');
    expect(found.map((i) => i.label)).toEqual(['Sequence diagram', 'Subscribe sequence']);
  });

  it('treats typed text as text, not a pattern', () => {
    expect(matchItems([item('a+b/#')], '+b/#').map((i) => i.label)).toEqual(['a+b/#']);
    expect(matchItems([item('abc')], '.*')).toEqual([]);
  });
});
