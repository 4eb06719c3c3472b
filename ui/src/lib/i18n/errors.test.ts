import { describe, expect, it } from 'vitest';
import { PlatformError } from '../platform';
import { setLocale } from './index.svelte';
import { errorText } from './errors';

describe('errorText', () => {
  it('keeps the backend sentence and, outside English, says what kind of failure it is', () => {
    const error = new PlatformError('AuthFailed', 'wrong username or password [CONNACK code 0x04]');
    setLocale('en');
    expect(errorText(error)).toBe('wrong username or password [CONNACK code 0x04]');
    setLocale('zh-CN');
    expect(errorText(error)).toBe('认证失败：wrong username or password [CONNACK code 0x04]');
    expect(errorText(new Error('plain'))).toBe('plain');
    setLocale('en');
  });
});
