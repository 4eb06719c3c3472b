// The palette's items for the shell: every source, every view, the shell's actions and the
// topics on screen. Built from what the shell holds; each item runs through its callbacks.
import { brokerSource, sessionSource, type SessionView, type SourceId, type TreeRow } from '../platform';
import type { AmqpSessionView } from '../platform/amqp';
import { amqpSessions } from '../amqp/store.svelte';
import { LOCALES, locale, setLocale, t } from '../i18n/index.svelte';
import { isDark, setTheme } from '../theme/theme.svelte';
import type { ViewEntry } from '../views/registry';
import type { PaletteItem } from './palette';

export interface ShellCommands {
  sessions: SessionView[];
  /** The AMQP sessions (this window's list when absent). */
  amqp?: AmqpSessionView[];
  views: ViewEntry[];
  rows: TreeRow[];
  select: (source: SourceId) => void;
  show: (view: string) => void;
  pick: (row: TreeRow) => void;
  newSession: () => void;
  shortcuts: () => void;
}

const SHELL_TABS: [string, string][] = [
  ['topics', 'app.tab-topics'],
  ['packets', 'app.tab-packets'],
  ['publish', 'app.tab-publish'],
  ['settings', 'app.tab-broker'],
];

export function shellItems(c: ShellCommands): PaletteItem[] {
  const items: PaletteItem[] = [
    {
      id: 'source:broker',
      group: 'source',
      label: t('app.embedded-broker'),
      run: () => c.select(brokerSource),
    },
  ];
  for (const s of c.sessions) {
    items.push({
      id: `source:${s.profile.id}`,
      group: 'source',
      label: s.appSession ? t('shell.app-session') : s.profile.name,
      detail: s.url,
      run: () => c.select(s.source),
    });
  }
  for (const a of c.amqp ?? amqpSessions.sessions) {
    items.push({
      id: `source:${a.profile.id}`,
      group: 'source',
      label: a.profile.name,
      detail: a.profile.url,
      run: () => c.select(sessionSource(a.profile.id)),
    });
  }
  for (const [id, label] of SHELL_TABS) {
    items.push({ id: `view:${id}`, group: 'view', label: t(label), run: () => c.show(id) });
  }
  for (const v of c.views) {
    items.push({ id: `view:${v.id}`, group: 'view', label: t(v.label), run: () => c.show(v.id) });
  }
  const other = LOCALES.find((l) => l.id !== locale());
  items.push(
    { id: 'action:new', group: 'action', label: t('shell.action.new-session'), run: c.newSession },
    { id: 'action:settings', group: 'action', label: t('shell.action.settings'), run: () => c.show('preferences') },
    {
      id: 'action:theme',
      group: 'action',
      label: t(isDark() ? 'shell.action.theme-light' : 'shell.action.theme-dark'),
      run: () => setTheme(isDark() ? 'light' : 'dark'),
    },
    { id: 'action:shortcuts', group: 'action', label: t('shell.action.shortcuts'), run: c.shortcuts },
  );
  if (other) {
    items.push({
      id: 'action:language',
      group: 'action',
      label: t('shell.action.language', { name: other.name }),
      run: () => setLocale(other.id),
    });
  }
  for (const row of c.rows) {
    if (row.ownCount === 0) continue;
    items.push({ id: `topic:${row.id}`, group: 'topic', label: row.topic, run: () => c.pick(row) });
  }
  return items;
}
