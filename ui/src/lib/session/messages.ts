// Strings of the session editor, subscriptions and publish composer, in both languages.
import type { Catalog } from '../i18n/index.svelte';

export const sessionMessages: Catalog = {
  en: {},
  'zh-CN': {},
};
