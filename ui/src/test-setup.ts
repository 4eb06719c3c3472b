// jsdom has no layout, so no ResizeObserver; Svelte's size bindings need one to exist.
class NoLayoutResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}

if (!('ResizeObserver' in globalThis)) {
  Object.assign(globalThis, { ResizeObserver: NoLayoutResizeObserver });
}

// Every catalog registered, English selected: tests read English text unless they switch.
import './lib/i18n/catalogs';
import { setLocale } from './lib/i18n/index.svelte';
setLocale('en');

// jsdom has no blob: URLs; charts and images only need a stand-in string.
if (typeof URL.createObjectURL !== 'function') {
  let serial = 0;
  Object.assign(URL, {
    createObjectURL: () => `blob:test/${++serial}`,
    revokeObjectURL: () => {},
  });
}
