// Strings of the rate charts, in both languages.
import type { Catalog } from '../i18n/index.svelte';

export const chartMessages: Catalog = {
  en: {
    'charts.alt': 'Messages per second over time',
    'charts.export-svg': 'Export SVG',
    'charts.export-png': 'Export PNG',
    'charts.title': 'Messages per second, last 60 s',
    'charts.in': 'in (from clients)',
    'charts.out': 'out (to clients)',
    'charts.received': 'received',
    'charts.sent': 'sent',
    'charts.topic': 'messages (topic and below)',
    'charts.unit': 'msg/s',
    'charts.seconds': 's',
    'charts.saved-to': 'Saved to {path}',
  },
  'zh-CN': {
    'charts.alt': '每秒消息数随时间变化',
    'charts.export-svg': '导出 SVG',
    'charts.export-png': '导出 PNG',
    'charts.title': '每秒消息数（最近 60 秒）',
    'charts.in': '接收（来自客户端）',
    'charts.out': '发送（发往客户端）',
    'charts.received': '收到',
    'charts.sent': '发出',
    'charts.topic': '消息（该主题及其子主题）',
    'charts.unit': '条/秒',
    'charts.seconds': '秒',
    'charts.saved-to': '已保存到 {path}',
  },
};
