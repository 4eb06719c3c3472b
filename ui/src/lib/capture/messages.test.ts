import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureMessages } from './messages';

// Keys built at run time from a replay's state, and the tab's label (named in the views'
// registry); the source scan below cannot see them.
const built = [
  ...['playing', 'paused', 'finished', 'stopped', 'failed'].map((state) => `capture.state.${state}`),
  'capture.tab',
];

describe('capture messages', () => {
  it('has every key the capture view uses, in both languages, and no other', () => {
    const folder = import.meta.dirname;
    const used = new Set(built);
    for (const name of readdirSync(folder)) {
      if (name.includes('.test.') || name === 'messages.ts') continue;
      if (!name.endsWith('.ts') && !name.endsWith('.svelte')) continue;
      const source = readFileSync(join(folder, name), 'utf8');
      for (const match of source.matchAll(/'(capture\.[a-z0-9.-]+[a-z0-9])'/g)) used.add(match[1]!);
    }
    const english = captureMessages.en!;
    const chinese = captureMessages['zh-CN']!;
    expect([...used].filter((key) => !(key in english))).toEqual([]);
    expect(Object.keys(english).filter((key) => !used.has(key))).toEqual([]);
    expect(Object.keys(english).sort()).toEqual(Object.keys(chinese).sort());
  });
});
