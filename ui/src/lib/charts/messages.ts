// Strings of the rate charts, in both languages.
import type { Catalog } from '../i18n/index.svelte';

export const chartMessages: Catalog = {
  en: {
    'charts.alt': 'Messages per second over time',
    'charts.export-svg': 'Export SVG',
    'charts.export-png': 'Export PNG',
  },
  'zh-CN': {
    'charts.alt': '每秒消息数随时间变化',
    'charts.export-svg': '导出 SVG',
    'charts.export-png': '导出 PNG',
  },
};
