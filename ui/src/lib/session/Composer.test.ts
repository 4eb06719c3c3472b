import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mount, unmount } from 'svelte';
import Composer from './Composer.svelte';
import { PlatformError, type Platform, type PublishRequest, type SessionView } from '../platform';
import { byTestId, check, sessionView, settle, type } from './testing.svelte';

function fakePlatform(methods: Partial<Platform>): Platform {
  return { kind: 'tauri', ...methods } as unknown as Platform;
}

const connected = { state: 'Connected', since: 0, resumed: false } as const;
const v5 = sessionView({ id: 'a', name: 'alpha', version: 'V5' }, connected);
const v311 = sessionView({ id: 'b', name: 'beta', version: 'V311' }, connected);
const idle = sessionView({ id: 'c', name: 'gamma' });

let cleanup: (() => void) | null = null;
beforeEach(() => localStorage.clear());
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

function render(platform: Platform, sessions: SessionView[], selectedId: string | null = null) {
  const target = document.createElement('div');
  document.body.append(target);
  const composer = mount(Composer, { target, props: { platform, sessions, selectedId } });
  cleanup = () => {
    unmount(composer);
    target.remove();
  };
  return target;
}

describe('Composer', () => {
  it('asks for a connected session when there is none', async () => {
    const target = render(fakePlatform({}), [idle]);
    await settle();
    expect(byTestId(target, 'publish-none').textContent).toContain('Connect a session first');
    expect(target.querySelector('[data-testid="publish-send"]')).toBeNull();
  });

  it('lists connected sessions only, starting with the selected one', async () => {
    const target = render(fakePlatform({}), [v5, idle, v311], 'b');
    await settle();
    const select = byTestId<HTMLSelectElement>(target, 'publish-session');
    expect([...select.options].map((o) => o.textContent)).toEqual(['alpha', 'beta']);
    expect(select.value).toBe('b');
  });

  it('publishes with the right request and says how many bytes went where', async () => {
    const sessionPublish = vi.fn(async () => 12);
    const target = render(fakePlatform({ sessionPublish }), [idle, v5]);
    await settle();
    type(byTestId(target, 'publish-topic'), 'home/temp');
    type(byTestId(target, 'publish-format'), 'json');
    await settle();
    type(byTestId(target, 'publish-payload'), '{"t": 21.5}');
    type(byTestId(target, 'publish-qos'), '1');
    check(byTestId(target, 'publish-retain'), true);
    type(byTestId(target, 'publish-content-type'), 'application/json');
    type(byTestId(target, 'publish-expiry'), '30');
    byTestId(target, 'publish-user-property-add').click();
    await settle();
    const [key, value] = target.querySelectorAll<HTMLInputElement>(
      '[data-testid="publish-user-property"] input',
    );
    type(key as HTMLElement, 'unit');
    type(value as HTMLElement, '°C');
    await settle();
    expect(target.querySelector('[data-testid="publish-invalid"]')).toBeNull();
    byTestId(target, 'publish-send').click();
    await settle();

    const expected: PublishRequest = {
      topic: 'home/temp',
      payload: { format: 'json', data: '{"t": 21.5}' },
      qos: 1,
      retain: true,
      properties: {
        contentType: 'application/json',
        payloadIsUtf8: false,
        messageExpiry: 30,
        responseTopic: null,
        correlationData: null,
        userProperties: [{ key: 'unit', value: '°C' }],
        willDelay: null,
      },
    };
    expect(sessionPublish).toHaveBeenCalledWith('a', expected);
    expect(byTestId(target, 'publish-result').textContent).toBe('Published 12 bytes to home/temp');
    expect(JSON.parse(localStorage.getItem('recentTopics') ?? '[]')).toEqual(['home/temp']);
    const options = target.querySelectorAll('datalist option');
    expect([...options].map((o) => (o as HTMLOptionElement).value)).toEqual(['home/temp']);
  });

  it('sends no MQTT 5 properties from an MQTT 3.1.1 session, and shows failures', async () => {
    const sessionPublish = vi.fn(() =>
      Promise.reject(new PlatformError('InvalidTopic', "a topic name cannot contain '+'")),
    );
    const target = render(fakePlatform({ sessionPublish }), [v311]);
    await settle();
    expect(target.querySelector('[data-testid="publish-content-type"]')).toBeNull();
    type(byTestId(target, 'publish-topic'), 'a/+');
    type(byTestId(target, 'publish-payload'), 'hi');
    await settle();
    // Ctrl+Enter in the payload sends.
    byTestId(target, 'publish-payload').dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true, bubbles: true }),
    );
    await settle();
    expect(sessionPublish).toHaveBeenCalledWith(
      'b',
      expect.objectContaining({
        payload: { format: 'text', data: 'hi' },
        properties: expect.objectContaining({ contentType: null, userProperties: [] }),
      }),
    );
    const error = byTestId(target, 'publish-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toBe("a topic name cannot contain '+'");
  });

  it('shows invalid JSON live and disables Send until it is fixed', async () => {
    const sessionPublish = vi.fn(async () => 2);
    const target = render(fakePlatform({ sessionPublish }), [v5]);
    await settle();
    type(byTestId(target, 'publish-topic'), 't');
    type(byTestId(target, 'publish-format'), 'json');
    await settle();
    type(byTestId(target, 'publish-payload'), '{"a": }');
    await settle();
    expect(byTestId(target, 'publish-invalid').textContent).toBe(
      'Invalid JSON at line 1, column 7: unexpected “}”',
    );
    expect(byTestId<HTMLButtonElement>(target, 'publish-send').disabled).toBe(true);
    byTestId(target, 'publish-payload').dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true, bubbles: true }),
    );
    await settle();
    expect(sessionPublish).not.toHaveBeenCalled();

    type(byTestId(target, 'publish-payload'), '{"a":1}');
    await settle();
    expect(target.querySelector('[data-testid="publish-invalid"]')).toBeNull();
    expect(byTestId<HTMLButtonElement>(target, 'publish-send').disabled).toBe(false);
    byTestId(target, 'publish-format-json').click();
    await settle();
    expect(byTestId<HTMLTextAreaElement>(target, 'publish-payload').value).toBe('{\n  "a": 1\n}');
  });

  it('shows invalid hex and base64 too', async () => {
    const target = render(fakePlatform({}), [v5]);
    await settle();
    type(byTestId(target, 'publish-format'), 'hex');
    await settle();
    type(byTestId(target, 'publish-payload'), 'abc');
    await settle();
    expect(byTestId(target, 'publish-invalid').textContent).toContain('odd number of digits');
    type(byTestId(target, 'publish-format'), 'base64');
    await settle();
    type(byTestId(target, 'publish-payload'), 'a*');
    await settle();
    expect(byTestId(target, 'publish-invalid').textContent).toContain('“*” at position 2');
  });

  it('sends a file as base64', async () => {
    const sessionPublish = vi.fn(async () => 3);
    const target = render(fakePlatform({ sessionPublish }), [v5]);
    await settle();
    type(byTestId(target, 'publish-topic'), 'files/x');
    type(byTestId(target, 'publish-format'), 'file');
    await settle();
    expect(byTestId<HTMLButtonElement>(target, 'publish-send').disabled).toBe(true);
    const input = byTestId<HTMLInputElement>(target, 'publish-file');
    const file = new File([new Uint8Array([0, 1, 255])], 'blob.bin');
    Object.defineProperty(input, 'files', { value: [file] });
    input.dispatchEvent(new Event('change', { bubbles: true }));
    // Reading a file takes real time in jsdom: wait for its outcome rather than a fixed tick.
    const info = await vi.waitFor(() => byTestId(target, 'publish-file-info'));
    expect(info.textContent).toContain('blob.bin: 3 bytes');
    await settle();
    byTestId(target, 'publish-send').click();
    await settle();
    expect(sessionPublish).toHaveBeenCalledWith(
      'a',
      expect.objectContaining({ payload: { format: 'base64', data: 'AAH/' } }),
    );
  });

  it('repeats a message every N ms, across remounts, until stopped or refused', async () => {
    vi.useFakeTimers();
    try {
      const sessionPublish = vi.fn(async () => 4);
      const platform = fakePlatform({ sessionPublish });
      let target = render(platform, [v5]);
      await settle();
      type(byTestId(target, 'publish-topic'), 'sim/temp');
      type(byTestId(target, 'publish-payload'), 'reading {{n}}');
      await settle();
      const repeat = byTestId<HTMLButtonElement>(target, 'publish-repeat');
      expect(repeat.disabled, 'no interval yet').toBe(true);
      type(byTestId(target, 'publish-every'), '20');
      await settle();
      expect(repeat.disabled, 'below the shortest interval').toBe(true);
      type(byTestId(target, 'publish-every'), '100');
      await settle();
      repeat.click();
      await settle();
      await vi.advanceTimersByTimeAsync(350);
      await settle();
      expect(sessionPublish).toHaveBeenCalledTimes(4); // at once, then at 100, 200 and 300 ms
      // Each message gets its own number; the form's later edits do not change the repeat.
      const sent = (sessionPublish.mock.calls as unknown as [string, PublishRequest][]).map(
        ([id, request]) => [id, request.topic, request.payload],
      );
      expect(sent).toEqual(
        [1, 2, 3, 4].map((n) => ['a', 'sim/temp', { format: 'text', data: `reading ${n}` }]),
      );
      type(byTestId(target, 'publish-payload'), 'edited');
      await settle();
      expect(byTestId(target, 'publish-repeating').textContent).toContain(
        'Publishing to sim/temp every 100 ms · 4 sent',
      );

      // Leaving the tab (the composer goes away) does not stop it.
      cleanup?.();
      await vi.advanceTimersByTimeAsync(200);
      expect(sessionPublish).toHaveBeenCalledTimes(6);
      expect((sessionPublish.mock.calls.at(-1) as unknown as [string, PublishRequest])[1].payload)
        .toEqual({ format: 'text', data: 'reading 6' });
      target = render(platform, [v5]);
      await settle();
      byTestId(target, 'publish-stop').click();
      await settle();
      await vi.advanceTimersByTimeAsync(500);
      expect(sessionPublish).toHaveBeenCalledTimes(6);
      expect(byTestId(target, 'publish-repeat-stopped').textContent).toContain(
        'Stopped repeating to sim/temp after 6 messages.',
      );

      // A refused publish (the session went away) stops it with the reason.
      sessionPublish.mockRejectedValueOnce(new PlatformError('InvalidState', 'not connected'));
      type(byTestId(target, 'publish-topic'), 'sim/temp');
      type(byTestId(target, 'publish-payload'), '1');
      type(byTestId(target, 'publish-every'), '100');
      await settle();
      byTestId(target, 'publish-repeat').click();
      await settle();
      await vi.advanceTimersByTimeAsync(300);
      await settle();
      expect(sessionPublish).toHaveBeenCalledTimes(7);
      expect(byTestId(target, 'publish-repeat-stopped').textContent).toContain(
        'Repeating stopped after 0 messages: not connected',
      );
    } finally {
      vi.useRealTimers();
    }
  });
});
