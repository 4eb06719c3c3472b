// The colour theme: the OS's (the default), light or dark. The choice is remembered in
// localStorage; the theme in effect is set on <html data-theme>, which app.css reads, and
// follows the OS's change while the choice is "system" (pushed by the media query, not polled).

export type ThemeChoice = 'system' | 'light' | 'dark';
export const THEME_CHOICES: ThemeChoice[] = ['system', 'light', 'dark'];

const STORAGE_KEY = 'theme';

function saved(): ThemeChoice {
  try {
    const value = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (value === 'light' || value === 'dark' || value === 'system') return value;
  } catch {
    // storage unavailable: the OS's theme
  }
  return 'system';
}

const query = globalThis.matchMedia?.('(prefers-color-scheme: dark)');
let choice = $state<ThemeChoice>(saved());
let systemDark = $state(query?.matches ?? false);
query?.addEventListener?.('change', () => {
  systemDark = query.matches;
  apply();
});

export function themeChoice(): ThemeChoice {
  return choice;
}

/** Whether the dark theme is in effect (the choice, or the OS's when the choice is "system"). */
export function isDark(): boolean {
  return choice === 'dark' || (choice === 'system' && systemDark);
}

export function setTheme(next: ThemeChoice): void {
  choice = next;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // not remembered; still switched
  }
  apply();
}

/** Sets the theme in effect on the document (at start, and on every change). */
export function apply(): void {
  if (typeof document === 'undefined') return;
  document.documentElement.dataset.theme = isDark() ? 'dark' : 'light';
}
