import { describe, expect, it, vi } from 'vitest';
import { shellItems, type ShellCommands } from './commands';
import type { AmqpSessionView } from '../platform/amqp';

function commands(over: Partial<ShellCommands>): ShellCommands {
  return {
    sessions: [],
    amqp: [],
    views: [],
    rows: [],
    select: vi.fn(),
    show: vi.fn(),
    pick: vi.fn(),
    newSession: vi.fn(),
    shortcuts: vi.fn(),
    ...over,
  };
}

const rabbit = {
  profile: {
    id: 'amqp-1',
    name: 'rabbit <lab>',
    url: 'amqp://guest@localhost:5672/',
    managementPort: 15672,
    caFile: null,
  },
  hasPassword: true,
  state: 'connected',
} as AmqpSessionView;

describe('the palette items of the shell', () => {
  it('lists AMQP sessions as sources and selects them as session sources', () => {
    const c = commands({ amqp: [rabbit] });
    const items = shellItems(c);
    const item = items.find((i) => i.id === 'source:amqp-1');
    expect(item?.group).toBe('source');
    expect(item?.label).toBe('rabbit <lab>');
    expect(item?.detail).toBe('amqp://guest@localhost:5672/');
    item?.run();
    expect(c.select).toHaveBeenCalledWith({ kind: 'session', id: 'amqp-1' });
  });

  it('has no AMQP item when there is no AMQP session', () => {
    const items = shellItems(commands({}));
    expect(items.filter((i) => i.group === 'source').map((i) => i.id)).toEqual(['source:broker']);
  });
});
