import { describe, expect, it } from 'vitest';
import { brokerSource, sessionSource, sourceFromQuery } from './source';

/** The query the backend's window_open writes: the source as JSON, percent-encoded. */
const raw = (json: string) => `?source=${encodeURIComponent(json)}`;
const query = (value: unknown) => raw(JSON.stringify(value));

describe('the source a window starts on', () => {
  it('is the one its query names', () => {
    expect(sourceFromQuery(query({ kind: 'broker' }))).toEqual(brokerSource);
    expect(sourceFromQuery(query({ kind: 'session', id: 'p1' }))).toEqual(sessionSource('p1'));
    expect(sourceFromQuery(query({ kind: 'proxy', id: '1884' }))).toEqual({ kind: 'proxy', id: '1884' });
    expect(sourceFromQuery(query({ kind: 'capture', id: 'c1' }))).toEqual({ kind: 'capture', id: 'c1' });
    expect(sourceFromQuery(query({ id: 'a b&c=#/ü', kind: 'session' }))).toEqual(
      sessionSource('a b&c=#/ü'),
    );
    // Exactly what the backend writes (src-tauri/ipc/window.rs).
    expect(
      sourceFromQuery(
        '?source=%7B%22kind%22%3A%22session%22%2C%22id%22%3A%22a%20b%26c%3D%23%2F%C3%BC%22%7D',
      ),
    ).toEqual(sessionSource('a b&c=#/ü'));
  });

  it('is the broker for anything else', () => {
    const refused = [
      '',
      '?',
      '?other=1',
      '?source=',
      '?source=broker',
      '?source=%7B',
      query(null),
      query('broker'),
      query(['session', 'p1']),
      query({}),
      query({ kind: 'Broker' }),
      query({ kind: 'broker', id: 'p1' }),
      query({ kind: 'session' }),
      query({ kind: 'session', id: '' }),
      query({ kind: 'session', id: 7 }),
      query({ kind: 'session', id: { toString: 'p1' } }),
      query({ kind: 'session', id: 'p1', extra: true }),
      query({ kind: 'file', id: '/etc/passwd' }),
      raw('{"kind":"session","id":"p1","__proto__":{"polluted":true}}'),
      raw('{"kind":"session","id":"p1"} trailing'),
    ];
    for (const search of refused) {
      expect(sourceFromQuery(search), search).toEqual(brokerSource);
    }
  });
});
