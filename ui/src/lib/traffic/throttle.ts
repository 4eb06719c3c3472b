// Paces work that follows pushed frames (a chart, the packet log): at most one run per interval,
// at once when the last run is long enough ago, otherwise once at the end of the interval, so the
// last state is always shown. A run still going when the next is due is followed by one more. A
// timer exists only while a run is owed: an idle UI holds none.

export interface Throttle {
  /** Asks for a run: now, or at the end of the current interval. */
  request(): void;
  /** Drops any owed run; later requests do nothing (the owner went away). */
  cancel(): void;
}

export function throttle(run: () => unknown, intervalMs: number): Throttle {
  let last = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let owed = false;
  let cancelled = false;

  function fire() {
    timer = null;
    if (cancelled) return;
    owed = false;
    last = Date.now();
    running = true;
    const done = () => {
      running = false;
      if (owed) request();
    };
    let result: unknown;
    try {
      result = run();
    } catch {
      done();
      return;
    }
    if (result instanceof Promise) result.then(done, done);
    else done();
  }

  function request() {
    if (cancelled) return;
    if (running) {
      owed = true;
      return;
    }
    if (timer !== null) return; // a run is already owed
    const wait = last + intervalMs - Date.now();
    if (wait <= 0) fire();
    else timer = setTimeout(fire, wait);
  }

  return {
    request,
    cancel() {
      cancelled = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
