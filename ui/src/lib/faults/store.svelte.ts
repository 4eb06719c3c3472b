// The armed fault rules as the UI knows them: loaded once, then replaced by every list the
// backend pushes (arming, clearing, a connection using one up) or a command returns. Shared by
// every client row's menu and the rules panel.
import { faultsOf, type ArmedRule } from '../platform/faults';
import type { Platform } from '../platform';

export const faultRules = $state({ all: [] as ArmedRule[] });

let watchers = 0;
let stop: (() => void) | null = null;

/** Keeps `faultRules` current while at least one view watches; returns a way to stop. */
export function watchRules(platform: Platform): () => void {
  const calls = faultsOf(platform);
  watchers += 1;
  if (watchers === 1) {
    void calls
      .onChanged((rules) => {
        faultRules.all = rules;
      })
      .then((unlisten) => {
        if (watchers > 0) stop = unlisten;
        else unlisten();
      })
      // No event channel (a page outside the app, a test): the list loaded below is all.
      .catch(() => {});
    void calls
      .list()
      .then((rules) => {
        faultRules.all = rules;
      })
      .catch(() => {});
  }
  return () => {
    watchers -= 1;
    if (watchers === 0) {
      stop?.();
      stop = null;
    }
  };
}
