// Strings of the traffic views, in both languages.
import type { Catalog } from '../i18n/index.svelte';

export const trafficMessages: Catalog = {
  en: {},
  'zh-CN': {},
};
