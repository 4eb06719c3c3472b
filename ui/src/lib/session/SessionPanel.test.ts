import { afterEach, describe, expect, it, vi } from 'vitest';
import { mount, unmount } from 'svelte';
import SessionPanel from './SessionPanel.svelte';
import {
  PlatformError,
  type PasswordStorage,
  type Platform,
  type Profile,
  type SessionView,
} from '../platform';
import { byTestId, check, reactiveProps, sessionView, settle, type } from './testing.svelte';

function fakePlatform(methods: Partial<Platform>): Platform {
  return { kind: 'tauri', ...methods } as unknown as Platform;
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

function render(
  platform: Platform,
  session: SessionView | null,
  options: { passwordStorage?: PasswordStorage; passwordNote?: string | null; now?: number } = {},
) {
  const target = document.createElement('div');
  document.body.append(target);
  const onsaved = vi.fn();
  const ondeleted = vi.fn();
  const onchange = vi.fn();
  const panel = mount(SessionPanel, {
    target,
    props: {
      platform,
      session,
      passwordStorage: options.passwordStorage ?? 'Keychain',
      passwordNote: options.passwordNote ?? null,
      now: options.now ?? Date.now(),
      onsaved,
      ondeleted,
      onchange,
    },
  });
  cleanup = () => {
    unmount(panel);
    target.remove();
  };
  return { target, onsaved, ondeleted, onchange };
}

describe('SessionPanel', () => {
  it('saves a new profile with the filled-in fields and the password', async () => {
    const sessionSave = vi.fn(async (profile: Profile) => ({
      session: sessionView(
        { ...profile, id: 'new-id' },
        { state: 'Disconnected' },
        { hasPassword: true },
      ),
      note: null,
    }));
    const { target, onsaved } = render(fakePlatform({ sessionSave }), null);
    await settle();
    expect(target.querySelector('[data-testid="session-connect"]')).toBeNull();
    expect(target.querySelector('[data-testid="session-delete"]')).toBeNull();

    type(byTestId(target, 'session-name'), 'plant');
    type(byTestId(target, 'session-host'), 'broker.local');
    type(byTestId(target, 'session-port'), '1884');
    type(byTestId(target, 'session-version'), 'V311');
    type(byTestId(target, 'session-client-id'), 'workbench-1');
    type(byTestId(target, 'session-username'), 'ada');
    type(byTestId(target, 'session-password'), 's3cret');
    check(byTestId(target, 'session-auto-reconnect'), false);
    check(byTestId(target, 'session-will'), true);
    await settle();
    type(byTestId(target, 'session-will-topic'), 'plant/status');
    type(byTestId(target, 'session-will-payload'), 'offline');
    await settle();
    byTestId(target, 'session-save').click();
    await settle();

    expect(sessionSave).toHaveBeenCalledOnce();
    const [profile, password] = sessionSave.mock.calls[0] as unknown as [Profile, string | null];
    expect(password).toBe('s3cret');
    expect(profile).toMatchObject({
      id: '',
      name: 'plant',
      host: 'broker.local',
      port: 1884,
      transport: 'tcp',
      version: 'V311',
      clientId: 'workbench-1',
      username: 'ada',
      autoReconnect: false,
      sessionExpiry: null,
      will: { topic: 'plant/status', payload: 'offline', qos: 0, retain: false },
    });
    expect(onsaved).toHaveBeenCalledWith(expect.objectContaining({ hasPassword: true }));
    // The password never stays in the form once saved.
    expect(byTestId<HTMLInputElement>(target, 'session-password').value).toBe('');
  });

  it('fills the fields from a URL, and shows why a URL is refused', async () => {
    const sessionParseUrl = vi.fn(async (url: string) => {
      if (url === 'nope://x') throw new PlatformError('InvalidInput', "unknown scheme 'nope://'");
      return {
        transport: 'wss' as const,
        host: 'broker.example',
        port: 8884,
        wsPath: '/ws',
        username: 'ada',
        password: 'pw',
      };
    });
    const sessionSave = vi.fn(async (profile: Profile) => ({
      session: sessionView({ ...profile, id: 'x' }),
      note: null,
    }));
    const { target } = render(fakePlatform({ sessionParseUrl, sessionSave }), null);
    await settle();
    type(byTestId(target, 'session-url'), 'wss://ada:pw@broker.example:8884/ws');
    await settle();
    byTestId(target, 'session-url-apply').click();
    await settle();
    expect(sessionParseUrl).toHaveBeenCalledWith('wss://ada:pw@broker.example:8884/ws');
    expect(byTestId<HTMLSelectElement>(target, 'session-transport').value).toBe('wss');
    expect(byTestId<HTMLInputElement>(target, 'session-host').value).toBe('broker.example');
    expect(byTestId<HTMLInputElement>(target, 'session-port').value).toBe('8884');
    expect(byTestId<HTMLInputElement>(target, 'session-ws-path').value).toBe('/ws');
    expect(byTestId<HTMLInputElement>(target, 'session-username').value).toBe('ada');
    expect(byTestId<HTMLInputElement>(target, 'session-password').value).toBe('pw');
    expect(byTestId<HTMLInputElement>(target, 'session-name').value).toBe('broker.example');

    byTestId(target, 'session-save').click();
    await settle();
    expect(sessionSave).toHaveBeenCalledWith(
      expect.objectContaining({ transport: 'wss', port: 8884, wsPath: '/ws', username: 'ada' }),
      'pw',
    );

    type(byTestId(target, 'session-url'), 'nope://x');
    await settle();
    byTestId(target, 'session-url-apply').click();
    await settle();
    const error = byTestId(target, 'session-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toBe("unknown scheme 'nope://'");
  });

  it('moves the port with the transport while it is the default', async () => {
    const { target } = render(fakePlatform({}), null);
    await settle();
    expect(target.querySelector('[data-testid="session-ws-path"]')).toBeNull();
    type(byTestId(target, 'session-transport'), 'tls');
    await settle();
    expect(byTestId<HTMLInputElement>(target, 'session-port').value).toBe('8883');
    type(byTestId(target, 'session-port'), '9000');
    type(byTestId(target, 'session-transport'), 'ws');
    await settle();
    expect(byTestId<HTMLInputElement>(target, 'session-port').value).toBe('9000');
    expect(byTestId<HTMLInputElement>(target, 'session-ws-path').value).toBe('/mqtt');
  });

  it('shows the backend message when a subscription filter is refused', async () => {
    const sessionSubscribe = vi.fn(() =>
      Promise.reject(
        new PlatformError(
          'InvalidTopicFilter',
          "invalid topic filter 'sport/+/player#': '#' must be a whole level (level 3 is 'player#')",
        ),
      ),
    );
    const view = sessionView({ version: 'V5' }, { state: 'Connected', since: 0, resumed: false });
    const { target, onchange } = render(fakePlatform({ sessionSubscribe }), view);
    await settle();
    type(byTestId(target, 'sub-filter'), 'sport/+/player#');
    type(byTestId(target, 'sub-qos'), '1');
    await settle();
    byTestId(target, 'sub-add').click();
    await settle();
    expect(sessionSubscribe).toHaveBeenCalledWith('s1', {
      filter: 'sport/+/player#',
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 'SendAlways',
      identifier: null,
    });
    const error = byTestId(target, 'sub-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toBe(
      "invalid topic filter 'sport/+/player#': '#' must be a whole level (level 3 is 'player#')",
    );
    expect(onchange).not.toHaveBeenCalled();
  });

  it('lists subscriptions with their status and removes one', async () => {
    const view = sessionView(
      { version: 'V5' },
      { state: 'Connected', since: 0, resumed: false },
      {
        subscriptions: [
          {
            subscription: {
              filter: 'home/#',
              qos: 1,
              noLocal: true,
              retainAsPublished: false,
              retainHandling: 'DontSend',
              identifier: 7,
            },
            status: { status: 'Granted', qos: 1 },
          },
          {
            subscription: {
              filter: '$SYS/#',
              qos: 0,
              noLocal: false,
              retainAsPublished: false,
              retainHandling: 'SendAlways',
              identifier: null,
            },
            status: { status: 'Refused', reason: 'not authorized', code: 0x87 },
          },
        ],
      },
    );
    const after = { ...view, subscriptions: view.subscriptions.slice(1) };
    const sessionUnsubscribe = vi.fn(async () => after);
    const { target, onchange } = render(fakePlatform({ sessionUnsubscribe }), view);
    await settle();
    const rows = target.querySelectorAll('[data-testid="sub-row"]');
    expect(rows).toHaveLength(2);
    expect(rows[0]?.textContent).toContain('home/#');
    expect(rows[0]?.textContent).toContain('no local');
    expect(rows[0]?.textContent).toContain('identifier 7');
    expect(byTestId(rows[0] as HTMLElement, 'sub-status').textContent).toBe('Granted QoS 1');
    expect(byTestId(rows[1] as HTMLElement, 'sub-status').textContent).toBe(
      'Refused — not authorized',
    );
    byTestId(rows[0] as HTMLElement, 'sub-remove').click();
    await settle();
    expect(sessionUnsubscribe).toHaveBeenCalledWith('s1', 'home/#');
    expect(onchange).toHaveBeenCalledWith(after);
  });

  it('explains that passwords last only until the app quits when no keychain answered', async () => {
    const { target } = render(fakePlatform({}), null, {
      passwordStorage: 'SessionOnly',
      passwordNote: 'The Secret Service did not answer.',
    });
    await settle();
    const note = byTestId(target, 'password-note');
    expect(note.textContent).toContain('until the app quits');
    expect(note.textContent).toContain('The Secret Service did not answer.');
  });

  it('shows no password note when the keychain keeps passwords', async () => {
    const { target } = render(fakePlatform({}), null, { passwordStorage: 'Keychain' });
    await settle();
    expect(target.querySelector('[data-testid="password-note"]')).toBeNull();
  });

  it('keeps a stored password unless a new one is typed or it is forgotten', async () => {
    const view = sessionView({}, { state: 'Disconnected' }, { hasPassword: true });
    const sessionSave = vi.fn(async () => ({ session: view, note: 'kept for this run only' }));
    const { target } = render(fakePlatform({ sessionSave }), view);
    await settle();
    expect(byTestId(target, 'password-keep-hint').textContent).toContain('empty to keep it');
    byTestId(target, 'session-save').click();
    await settle();
    expect(sessionSave).toHaveBeenLastCalledWith(expect.anything(), null);
    expect(byTestId(target, 'session-note').textContent).toBe('kept for this run only');
    check(byTestId(target, 'session-forget-password'), true);
    await settle();
    byTestId(target, 'session-save').click();
    await settle();
    expect(sessionSave).toHaveBeenLastCalledWith(expect.anything(), '');
  });

  it('connects, disconnects, drops and shows failures in words', async () => {
    const connected = sessionView({}, { state: 'Connected', since: 0, resumed: false });
    const sessionConnect = vi.fn(async () => connected);
    const sessionDisconnect = vi.fn(() =>
      Promise.reject(new PlatformError('InvalidState', 'the session is not connected')),
    );
    const platform = fakePlatform({ sessionConnect, sessionDisconnect });

    const first = render(platform, sessionView());
    await settle();
    expect(byTestId(first.target, 'session-state').textContent?.trim()).toBe('Disconnected');
    byTestId(first.target, 'session-connect').click();
    await settle();
    expect(sessionConnect).toHaveBeenCalledWith('s1');
    expect(first.onchange).toHaveBeenCalledWith(connected);
    cleanup?.();

    const second = render(platform, connected);
    await settle();
    byTestId(second.target, 'session-disconnect').click();
    await settle();
    expect(sessionDisconnect).toHaveBeenLastCalledWith('s1', true);
    byTestId(second.target, 'session-drop').click();
    await settle();
    expect(sessionDisconnect).toHaveBeenLastCalledWith('s1', false);
    expect(byTestId(second.target, 'session-error').textContent).toBe(
      'the session is not connected',
    );
  });

  it('shows the reconnect countdown', async () => {
    const view = sessionView(
      {},
      { state: 'Reconnecting', at: 5_000, attempt: 2, code: 'Unreachable', reason: 'refused', answer: null },
    );
    const { target } = render(fakePlatform({}), view, { now: 1_500 });
    await settle();
    expect(byTestId(target, 'session-state').textContent?.trim()).toBe(
      'Reconnecting in 4 s (attempt 2) — refused',
    );
  });

  it('keeps edits through pushed updates of the same session and reloads for another one', async () => {
    const target = document.createElement('div');
    document.body.append(target);
    const props = reactiveProps({
      platform: fakePlatform({}),
      session: sessionView({ name: 'sensor' }) as SessionView | null,
      passwordStorage: 'Keychain' as PasswordStorage,
      passwordNote: null,
      now: 0,
      onsaved: () => {},
      ondeleted: () => {},
      onchange: () => {},
    });
    const panel = mount(SessionPanel, { target, props });
    cleanup = () => {
      unmount(panel);
      target.remove();
    };
    await settle();
    type(byTestId(target, 'session-name'), 'renamed, not saved');
    await settle();
    // A pushed update: a fresh object for the same session, in a new state, a second later.
    props.session = sessionView(
      { name: 'sensor' },
      { state: 'Reconnecting', at: 10_000, attempt: 1, code: 'Unreachable', reason: 'refused', answer: null },
    );
    props.now = 1_000;
    await settle();
    expect(byTestId<HTMLInputElement>(target, 'session-name').value).toBe('renamed, not saved');
    expect(byTestId(target, 'session-state').textContent?.trim()).toBe(
      'Reconnecting in 9 s (attempt 1) — refused',
    );
    props.session = sessionView({ id: 's2', name: 'dashboard' });
    await settle();
    expect(byTestId<HTMLInputElement>(target, 'session-name').value).toBe('dashboard');
    props.session = null;
    await settle();
    expect(byTestId<HTMLInputElement>(target, 'session-name').value).toBe('');
    expect(target.querySelector('[data-testid="session-state"]')).toBeNull();
  });

  it('asks before deleting', async () => {
    const sessionDelete = vi.fn(async () => {});
    const { target, ondeleted } = render(fakePlatform({ sessionDelete }), sessionView());
    await settle();
    byTestId(target, 'session-delete').click();
    await settle();
    expect(sessionDelete).not.toHaveBeenCalled();
    byTestId(target, 'session-delete-confirm').click();
    await settle();
    expect(sessionDelete).toHaveBeenCalledWith('s1');
    expect(ondeleted).toHaveBeenCalledWith('s1');
  });
});
