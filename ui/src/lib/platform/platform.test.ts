import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describeError, detectPlatform, insideTauri, PlatformError } from '.';

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
});
