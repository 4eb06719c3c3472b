import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  brokerSource,
  describeError,
  detectPlatform,
  insideTauri,
  isSession,
  PlatformError,
  sameSource,
  sessionSource,
  settled,
  sourceKey,
} from '.';

const srcRoot = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|svelte|js)$/.test(name) ? [path] : [];
  });
}

describe('platform module', () => {
  it('is the only importer of @tauri-apps/*', () => {
    const offenders = sourceFiles(srcRoot)
      .filter((file) => !relative(srcRoot, file).startsWith(join('lib', 'platform')))
      .filter((file) => /from\s+['"]@tauri-apps\//.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('detects the Tauri webview by its internals object', () => {
    expect(insideTauri({})).toBe(false);
    expect(insideTauri({ __TAURI_INTERNALS__: {} })).toBe(true);
    expect(detectPlatform({}).kind).toBe('unavailable');
    expect(detectPlatform({ __TAURI_INTERNALS__: {} }).kind).toBe('tauri');
  });

  it('rejects with a specific error outside the app', async () => {
    await expect(detectPlatform({}).appInfo()).rejects.toMatchObject({ code: 'Unavailable' });
  });

  it('describes backend errors by their message', () => {
    expect(describeError({ code: 'PortInUse', message: 'port 1883 is in use' })).toBe(
      'port 1883 is in use',
    );
    expect(describeError(new PlatformError('Unavailable', 'gone'))).toBe('gone');
    expect(describeError('plain')).toBe('plain');
  });

  it('turns a rejected `{ code, message }` into a PlatformError', async () => {
    const closed = Promise.reject({ code: 'NotFound', message: 'that view is closed' });
    await expect(settled(closed)).rejects.toEqual(
      new PlatformError('NotFound', 'that view is closed'),
    );
    await expect(settled(Promise.resolve(7))).resolves.toBe(7);
    await expect(settled(Promise.reject('plain words'))).rejects.toBe('plain words');
  });
});

describe('sources', () => {
  it('are compared by what they name, never by identity or by parsing', () => {
    expect(sameSource(brokerSource, { kind: 'broker' })).toBe(true);
    expect(sameSource(sessionSource('a'), { kind: 'session', id: 'a' })).toBe(true);
    expect(sameSource(sessionSource('a'), sessionSource('b'))).toBe(false);
    expect(sameSource(sessionSource('broker'), brokerSource)).toBe(false);
    expect(sameSource(brokerSource, null)).toBe(false);
    expect(sameSource(sessionSource('a'), { kind: 'proxy', id: 'a' })).toBe(false);
    expect(sameSource({ kind: 'capture', id: 'a' }, { kind: 'capture', id: 'a' })).toBe(true);
    expect(isSession(sessionSource('a'))).toBe(true);
    expect(isSession(brokerSource)).toBe(false);
  });

  it('have distinct keys, whatever a profile id holds', () => {
    const sources = [brokerSource, sessionSource('broker'), sessionSource(''), sessionSource('a/b')];
    const keys = sources.map(sourceKey);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
