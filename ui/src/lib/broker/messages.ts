// Strings of the broker views, in both languages.
import type { Catalog } from '../i18n/index.svelte';

export const brokerMessages: Catalog = {
  en: {},
  'zh-CN': {},
};
