import { describe, expect, it } from 'vitest';
import { filterMatches, mappedType } from './filters';

describe('topic filters of schema mappings', () => {
  it('match as MQTT does', () => {
    expect(filterMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(filterMatches('a/#', 'a')).toBe(true);
    expect(filterMatches('a/#', 'a/b/c')).toBe(true);
    expect(filterMatches('a/+', 'a/b/c')).toBe(false);
    expect(filterMatches('a/b', 'a')).toBe(false);
    expect(filterMatches('#', '$SYS/x')).toBe(false);
  });

  it('the first matching mapping names the type', () => {
    const mappings = [
      { filter: 'x/+/temp', messageType: '.pkg.Temp' },
      { filter: 'x/#', messageType: 'pkg.Other' },
    ];
    expect(mappedType(mappings, 'x/1/temp')).toBe('pkg.Temp');
    expect(mappedType(mappings, 'x/1/hum')).toBe('pkg.Other');
    expect(mappedType(mappings, 'y')).toBeNull();
  });
});
