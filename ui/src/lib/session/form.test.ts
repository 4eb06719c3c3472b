import { describe, expect, it } from 'vitest';
import type { Profile } from '../platform';
import {
  formFromProfile,
  newProfile,
  passwordToSend,
  portForTransport,
  profileFromForm,
} from './form';

const saved: Profile = {
  ...newProfile(),
  id: 'p1',
  name: 'plant',
  host: 'broker.local',
  username: 'ada',
  will: {
    topic: 'plant/status',
    payload: 'offline',
    qos: 1,
    retain: true,
    properties: {
      contentType: 'text/plain',
      payloadIsUtf8: true,
      messageExpiry: 60,
      responseTopic: 'plant/reply',
      correlationData: null,
      userProperties: [{ key: 'k', value: 'v' }],
      willDelay: 5,
    },
  },
  subscriptions: [
    {
      filter: 'a/#',
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 'SendAlways',
      identifier: null,
    },
  ],
};

describe('profile form', () => {
  it('round-trips a profile, keeping what the form does not show', () => {
    expect(profileFromForm(formFromProfile(saved), saved)).toEqual(saved);
  });

  it('turns empty fields into nulls and drops a disabled will', () => {
    const form = formFromProfile(saved);
    form.username = '';
    form.caFile = '  ';
    form.willEnabled = false;
    form.port = null;
    const profile = profileFromForm(form, saved);
    expect(profile.username).toBeNull();
    expect(profile.tls.caFile).toBeNull();
    expect(profile.will).toBeNull();
    expect(profile.port).toBe(0);
    expect(profile.subscriptions).toEqual(saved.subscriptions);
  });

  it('sends no session expiry for MQTT 3.1.1', () => {
    const form = formFromProfile({ ...saved, sessionExpiry: 300 });
    expect(profileFromForm(form, saved).sessionExpiry).toBe(300);
    form.version = 'V311';
    expect(profileFromForm(form, saved).sessionExpiry).toBeNull();
  });

  it('keeps, replaces or forgets the password', () => {
    const form = formFromProfile(saved);
    expect(passwordToSend(form)).toBeNull();
    form.password = 'secret';
    expect(passwordToSend(form)).toBe('secret');
    form.forgetPassword = true;
    expect(passwordToSend(form)).toBe('');
  });

  it('moves the port along with the transport while it is the default', () => {
    expect(portForTransport(1883, 'tcp', 'tls')).toBe(8883);
    expect(portForTransport(null, 'tcp', 'wss')).toBe(443);
    expect(portForTransport(1884, 'tcp', 'tls')).toBe(1884);
  });
});
