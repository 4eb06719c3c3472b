import { describe, expect, it } from 'vitest';
import { catalogs } from './catalogs';
import { locale, setLocale, t, register } from './index.svelte';

describe('i18n', () => {
  it('has every key in both languages, none empty', () => {
    for (const [area, catalog] of Object.entries(catalogs)) {
      const en = Object.keys(catalog.en).sort();
      const zh = Object.keys(catalog['zh-CN']).sort();
      expect(zh, `${area}: keys missing in one language`).toEqual(en);
      for (const key of en) {
        expect(catalog.en[key]?.trim(), `${area}.${key} (en)`).toBeTruthy();
        expect(catalog['zh-CN'][key]?.trim(), `${area}.${key} (zh-CN)`).toBeTruthy();
      }
    }
  });

  it('uses the same placeholders in both languages', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();
    for (const catalog of Object.values(catalogs)) {
      for (const key of Object.keys(catalog.en)) {
        expect(names(catalog['zh-CN'][key] ?? ''), key).toEqual(names(catalog.en[key] ?? ''));
      }
    }
  });

  it('switches at run time, fills placeholders and falls back to English', () => {
    register({
      en: { 'test.hello': 'Hello {name}', 'test.only-en': 'English only' },
      'zh-CN': { 'test.hello': '你好 {name}' },
    });
    setLocale('en');
    expect(t('test.hello', { name: 'Ada' })).toBe('Hello Ada');
    setLocale('zh-CN');
    expect(locale()).toBe('zh-CN');
    expect(t('test.hello', { name: 'Ada' })).toBe('你好 Ada');
    expect(t('test.only-en')).toBe('English only');
    expect(t('test.missing')).toBe('test.missing');
    setLocale('en');
  });
});
