import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sessionMessages } from './messages';
import { PAYLOAD_FORMATS } from './compose';
import { TRANSPORTS } from './form';

// Keys built at run time from a value; the source scan below cannot see them.
const built = [
  ...PAYLOAD_FORMATS.map((f) => `session.publish.format.${f}`),
  ...PAYLOAD_FORMATS.filter((f) => f !== 'file').map((f) => `session.publish.placeholder.${f}`),
  ...TRANSPORTS.map((kind) => `session.transport.${kind}`),
];

describe('session messages', () => {
  it('has every key the session components use', () => {
    const folder = import.meta.dirname;
    const used = new Set(built);
    for (const name of readdirSync(folder)) {
      if (name.includes('.test.') || name === 'messages.ts') continue;
      if (!name.endsWith('.ts') && !name.endsWith('.svelte')) continue;
      const source = readFileSync(join(folder, name), 'utf8');
      for (const match of source.matchAll(/'(session\.[a-z0-9.-]+[a-z0-9])'/g)) used.add(match[1]!);
    }
    const missing = [...used].filter((key) => !(key in sessionMessages.en));
    expect(missing).toEqual([]);
    const unused = Object.keys(sessionMessages.en).filter((key) => !used.has(key));
    expect(unused).toEqual([]);
  });
});
