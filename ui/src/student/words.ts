// The student page's words, in English and Simplified Chinese, and the language it starts in
// (the browser's, unless the student picked one).

export type Lang = 'en' | 'zh';

const EN = {
  title: 'MQTT Classroom',
  language: 'Language',
  intro: 'Type your name to join the class. Your teacher sees you on the live map.',
  name: 'Your name',
  password: 'Class password',
  join: 'Join',
  filter: 'Subscribe to (topic filter)',
  subscribe: 'Subscribe',
  topic: 'Topic',
  payload: 'Message',
  publish: 'Publish',
  received: 'Messages received',
  leave: 'Leave',
  connecting: 'Connecting…',
  connected: 'Connected as {id}',
  closed: 'Disconnected. Trying again…',
  subscribed: 'Subscribed to {filter}',
  published: 'Published to {topic}',
  'name-needed': 'Type your name first.',
  'no-settings': 'The classroom is not reachable (is it still on?).',
  refused: 'The broker refused the connection: {reason}',
  'bad-filter': 'Not a valid topic filter: {filter}',
  'bad-topic': 'Not a valid topic to publish to (no + or #): {topic}',
};

type Key = keyof typeof EN;

const ZH: Record<Key, string> = {
  title: 'MQTT 课堂',
  language: '语言',
  intro: '输入你的名字加入课堂。老师会在实时地图上看到你。',
  name: '你的名字',
  password: '课堂密码',
  join: '加入',
  filter: '订阅（主题过滤器）',
  subscribe: '订阅',
  topic: '主题',
  payload: '消息',
  publish: '发布',
  received: '收到的消息',
  leave: '离开',
  connecting: '正在连接…',
  connected: '已连接，客户端 ID：{id}',
  closed: '连接已断开，正在重试…',
  subscribed: '已订阅 {filter}',
  published: '已发布到 {topic}',
  'name-needed': '请先输入你的名字。',
  'no-settings': '无法访问课堂（老师还开着课堂模式吗？）。',
  refused: 'Broker 拒绝了连接：{reason}',
  'bad-filter': '不是有效的主题过滤器：{filter}',
  'bad-topic': '不是可以发布的主题（不能含 + 或 #）：{topic}',
};

export const WORDS: Record<Lang, Record<Key, string>> = { en: EN, zh: ZH };

export type WordKey = Key;

/** The language to start in: a saved choice, else the browser's first that we have. */
export function startLang(saved: string | null, browser: readonly string[]): Lang {
  if (saved === 'en' || saved === 'zh') return saved;
  for (const tag of browser) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) return 'zh';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

/** A sentence in `lang`, with `{name}` places filled in (as text, never markup). */
export function say(lang: Lang, key: Key, values: Record<string, string> = {}): string {
  return WORDS[lang][key].replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? '');
}
