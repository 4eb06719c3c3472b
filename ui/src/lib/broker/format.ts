// Small formatting helpers for the broker views (tested without a DOM). Words come from the
// current language's catalog through t(); nothing else is read or changed.
import { t } from '../i18n/index.svelte';

/** "1.2 KB", "3.4 MB": bytes in the units people read. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "42 s", "3 min", "2 h 5 min": how long ago `sinceMs` was, from `nowMs`. */
export function formatDuration(sinceMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.floor((nowMs - sinceMs) / 1000));
  if (seconds < 60) return t('broker.duration-seconds', { seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t('broker.duration-minutes', { minutes });
  const hours = Math.floor(minutes / 60);
  return t('broker.duration-hours', { hours, minutes: minutes % 60 });
}

/** True for addresses that only this computer can reach. */
export function isLoopback(bind: string): boolean {
  return bind === '127.0.0.1' || bind === '::1' || bind.startsWith('127.');
}

/** Checks a port typed by the user; returns an error sentence or null. */
export function portProblem(text: string): string | null {
  if (!/^\d+$/.test(text.trim())) return t('broker.port-not-number');
  const port = Number(text);
  if (port < 1 || port > 65535) return t('broker.port-range');
  return null;
}
