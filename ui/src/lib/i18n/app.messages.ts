// Strings of the app shell, broker dashboard, topic tree, inspector and packet log.
import type { Catalog } from './index.svelte';

export const appMessages: Catalog = {
  en: {},
  'zh-CN': {},
};
