// Publishing one message again and again from a session, every N milliseconds: a stand-in for a
// device that reports periodically. It lives outside the composer so it keeps going while the
// user watches the tree or the packets. The next publish is scheduled only once the previous one
// is answered, so a slow broker slows the repeat down instead of piling requests up.
import type { Platform, PublishRequest } from '../platform';
import { errorText } from '../i18n/errors';

/** The shortest interval offered (at most 20 messages a second from the UI). */
export const MIN_EVERY_MS = 50;

export interface Repeat {
  sessionId: string;
  topic: string;
  everyMs: number;
  sent: number;
  running: boolean;
  /** Why it stopped by itself (the publish failed), in words. */
  error: string | null;
}

export const repeating = $state<{ current: Repeat | null }>({ current: null });

let timer: ReturnType<typeof setTimeout> | null = null;
let generation = 0;

/**
 * Starts publishing every `everyMs` ms (replacing any repeat under way); `message(n)` gives the
 * n-th message (from 1), so placeholders can change from one to the next.
 */
export function startRepeat(
  platform: Platform,
  sessionId: string,
  message: (n: number) => PublishRequest,
  everyMs: number,
): void {
  stopRepeat();
  const mine = generation;
  const state: Repeat = {
    sessionId,
    topic: message(1).topic,
    everyMs: Math.max(MIN_EVERY_MS, everyMs),
    sent: 0,
    running: true,
    error: null,
  };
  repeating.current = state;
  const current = () => (mine === generation ? repeating.current : null);
  const tick = async () => {
    try {
      await platform.sessionPublish(sessionId, message((current()?.sent ?? 0) + 1));
      const now = current();
      if (!now) return;
      now.sent += 1;
      timer = setTimeout(tick, now.everyMs);
    } catch (e) {
      const now = current();
      if (!now) return;
      now.running = false;
      now.error = errorText(e);
    }
  };
  void tick();
}

/** Stops the repeat under way, if any; what it sent stays counted. */
export function stopRepeat(): void {
  generation += 1;
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (repeating.current) repeating.current.running = false;
}
