// Run-time language switching: English and Simplified Chinese. Every visible string goes
// through t(key, params). Catalogs are plain objects, one per area of the UI, each holding both
// languages (a test checks that every key exists in both). The chosen language is remembered in
// localStorage; the first start follows the system language.

export type Locale = 'en' | 'zh-CN';
export const LOCALES: { id: Locale; name: string }[] = [
  { id: 'en', name: 'English' },
  { id: 'zh-CN', name: '简体中文' },
];

/** One area's strings in every language. */
export type Catalog = Record<Locale, Record<string, string>>;

const merged: Record<Locale, Record<string, string>> = { en: {}, 'zh-CN': {} };

function initial(): Locale {
  try {
    const saved = globalThis.localStorage?.getItem('locale');
    if (saved === 'en' || saved === 'zh-CN') return saved;
  } catch {
    // storage unavailable: fall through to the system language
  }
  const lang = globalThis.navigator?.language ?? 'en';
  return lang.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

let current = $state<Locale>(initial());

/** Adds an area's strings. */
export function register(catalog: Catalog): void {
  for (const id of Object.keys(merged) as Locale[]) Object.assign(merged[id], catalog[id]);
}

export function locale(): Locale {
  return current;
}

export function setLocale(next: Locale): void {
  current = next;
  try {
    globalThis.localStorage?.setItem('locale', next);
  } catch {
    // not remembered; still switched
  }
  if (typeof document !== 'undefined') document.documentElement.lang = next;
}

/**
 * The string for `key` in the current language, with `{name}` placeholders filled from
 * `params`. Falls back to English, then to the key itself (visible in review, never blank).
 */
export function t(key: string, params?: Record<string, string | number>): string {
  const text = merged[current][key] ?? merged.en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}
