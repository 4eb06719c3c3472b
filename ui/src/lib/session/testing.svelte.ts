// Helpers shared by the session component tests (not part of the app bundle: only tests import
// it). A .svelte.ts file so that props can be reactive, as a parent component makes them.
import { flushSync, tick } from 'svelte';
import { sessionSource, type ConnectionState, type Profile, type SessionView } from '../platform';
import { newProfile } from './form';

export function sessionView(
  profile: Partial<Profile> = {},
  state: ConnectionState = { state: 'Disconnected' },
  extra: Partial<SessionView> = {},
): SessionView {
  const full: Profile = { ...newProfile(), id: 's1', name: 'sensor', ...profile };
  return {
    profile: full,
    url: `mqtt://${full.host}:${full.port}`,
    source: sessionSource(full.id),
    state,
    clientId: null,
    hasPassword: false,
    subscriptions: [],
    appSession: false,
    ...extra,
  };
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    flushSync();
    await Promise.resolve();
    await tick();
  }
}

export function byTestId<T extends HTMLElement = HTMLElement>(root: ParentNode, id: string): T {
  const found = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!found) throw new Error(`no element with data-testid="${id}"`);
  return found;
}

/** Types into an input, textarea or select the way a user does (value, then the event). */
export function type(element: HTMLElement, value: string): void {
  (element as HTMLInputElement).value = value;
  const event = element instanceof HTMLSelectElement ? 'change' : 'input';
  element.dispatchEvent(new Event(event, { bubbles: true }));
}

export function check(element: HTMLElement, checked: boolean): void {
  (element as HTMLInputElement).checked = checked;
  element.dispatchEvent(new Event('change', { bubbles: true }));
}

/** Props a test can change after mounting, as a parent component would. */
export function reactiveProps<T extends object>(initial: T): T {
  const props = $state(initial);
  return props;
}
