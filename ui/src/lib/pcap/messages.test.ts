import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePorts } from '../platform/pcap';
import { pcapMessages } from './messages';

describe('capture file messages', () => {
  it('has every key the capture files use, in both languages, and no other', () => {
    const folder = import.meta.dirname;
    const used = new Set<string>();
    for (const name of readdirSync(folder)) {
      if (name.includes('.test.') || name === 'messages.ts') continue;
      const source = readFileSync(join(folder, name), 'utf8');
      for (const match of source.matchAll(/'(pcap\.[a-z0-9.-]+[a-z0-9])'/g)) used.add(match[1]!);
    }
    const english = pcapMessages.en!;
    const chinese = pcapMessages['zh-CN']!;
    expect([...used].filter((key) => !(key in english))).toEqual([]);
    expect(Object.keys(english).filter((key) => !used.has(key))).toEqual([]);
    expect(Object.keys(english).sort()).toEqual(Object.keys(chinese).sort());
  });

  it('reads the ports a form names, and refuses what is not a port', () => {
    expect(parsePorts('')).toEqual([]);
    expect(parsePorts(' 1883, 8884 ')).toEqual([1883, 8884]);
    expect(parsePorts('1883 8884')).toEqual([1883, 8884]);
    for (const bad of ['0', '65536', '18x3', '-1', '1.5']) expect(parsePorts(bad), bad).toBeNull();
  });
});
