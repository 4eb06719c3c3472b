import { describe, expect, it } from 'vitest';
import { isProblem, newForm, parseAmqpUrl, profileFromForm, withoutPassword } from './profile';
import { argumentsFrom, checkBase64, newProperties, prefetchFrom, propertiesFrom } from './fields';
import { problemText } from './words';

describe('AMQP URL', () => {
  it('reads URLs as RabbitMQ’s URI spec does', () => {
    expect(parseAmqpUrl('amqp://localhost')).toEqual({
      tls: false,
      user: 'guest',
      password: null,
      host: 'localhost',
      port: 5672,
      vhost: '/',
    });
    expect(parseAmqpUrl('amqps://alice@rabbit.example/%2f')).toMatchObject({
      tls: true,
      user: 'alice',
      port: 5671,
      vhost: '/',
    });
    expect(parseAmqpUrl(' amqp://bob:s%40cret@10.0.0.2:5673/orders ')).toMatchObject({
      user: 'bob',
      password: 's@cret',
      host: '10.0.0.2',
      port: 5673,
      vhost: 'orders',
    });
    expect(parseAmqpUrl('amqp://[::1]:5672/')).toMatchObject({ host: '[::1]', vhost: '/' });
  });

  it('says what is wrong with a URL', () => {
    const key = (url: string) => {
      const parsed = parseAmqpUrl(url);
      return isProblem(parsed) ? parsed.key : null;
    };
    expect(key('')).toBe('amqp.form.need-url');
    expect(key('mqtt://host:1883')).toBe('amqp.form.bad-scheme');
    expect(key('localhost:5672')).toBe('amqp.form.bad-url');
    expect(key('amqp://:5672/')).toBe('amqp.form.need-host');
    expect(key('amqp://host:99999/')).toBe('amqp.form.bad-port');
    expect(key('amqp://host:abc/')).toBe('amqp.form.bad-port');
    expect(key('amqp://host/a/b')).toBe('amqp.form.vhost-slash');
    expect(key('amqp://host/%zz')).toBe('amqp.form.bad-escape');
    expect(problemText({ key: 'amqp.form.bad-port', params: { port: '99999' } })).toContain('99999');
  });

  it('never keeps a password in the saved URL: it goes to the keychain', () => {
    expect(withoutPassword('amqp://bob:secret@host:5672/v')).toBe('amqp://bob@host:5672/v');
    const saved = profileFromForm('', { ...newForm(), url: 'amqp://bob:secret@host/v' });
    expect(saved).toMatchObject({
      profile: { id: '', name: 'host v', url: 'amqp://bob@host/v', managementPort: 15672, caFile: null },
      password: 'secret',
    });
    // A typed password wins over the URL's; none at all keeps the stored one (null).
    expect(
      profileFromForm('amqp-1', { ...newForm(), url: 'amqp://bob:old@host/', password: 'new' }),
    ).toMatchObject({ password: 'new', profile: { id: 'amqp-1', url: 'amqp://bob@host/' } });
    expect(profileFromForm('amqp-1', { ...newForm(), url: 'amqp://bob@host/' })).toMatchObject({
      password: null,
    });
    expect(
      profileFromForm('amqp-1', { ...newForm(), url: 'amqp://bob@host/', forgetPassword: true }),
    ).toMatchObject({ password: '' });
  });

  it('checks the management port and the CA file', () => {
    const base = { ...newForm(), url: 'amqp://guest@localhost/' };
    expect(profileFromForm('', { ...base, managementPort: '' })).toMatchObject({
      profile: { managementPort: null },
    });
    expect(profileFromForm('', { ...base, managementPort: '0' })).toMatchObject({
      key: 'amqp.form.bad-management-port',
    });
    expect(profileFromForm('', { ...base, caFile: '/ca.pem' })).toMatchObject({
      key: 'amqp.form.ca-needs-amqps',
    });
    expect(
      profileFromForm('', { ...base, url: 'amqps://guest@localhost/', caFile: ' /ca.pem ' }),
    ).toMatchObject({ profile: { caFile: '/ca.pem' } });
  });
});

describe('AMQP action fields', () => {
  it('types arguments and headers as the broker expects them', () => {
    expect(
      argumentsFrom([
        { name: 'x-message-ttl', value: '60000', kind: 'number' },
        { name: 'x-queue-type', value: 'quorum', kind: 'text' },
        { name: 'flag', value: 'TRUE', kind: 'bool' },
        { name: '', value: '', kind: 'text' },
      ]),
    ).toEqual([
      ['x-message-ttl', 60000],
      ['x-queue-type', 'quorum'],
      ['flag', true],
    ]);
    expect(argumentsFrom([{ name: 'x-max-length', value: 'ten', kind: 'number' }])).toMatchObject({
      key: 'amqp.check.argument-number',
    });
    expect(argumentsFrom([{ name: '', value: '1', kind: 'text' }])).toMatchObject({
      key: 'amqp.check.argument-name',
    });
    expect(
      argumentsFrom([
        { name: 'a', value: '1', kind: 'text' },
        { name: 'a', value: '2', kind: 'text' },
      ]),
    ).toMatchObject({ key: 'amqp.check.argument-twice' });
    expect(argumentsFrom([{ name: 'b', value: 'yes', kind: 'bool' }])).toMatchObject({
      key: 'amqp.check.argument-bool',
    });
  });

  it('builds the properties and refuses what AMQP would', () => {
    const props = propertiesFrom(
      {
        ...newProperties(),
        deliveryMode: '2',
        priority: '5',
        correlationId: ' job-7 ',
        expiration: '60000',
        timestampNow: true,
        headers: [{ name: 'x-retries', value: '3', kind: 'number' }],
      },
      1_700_000_000_500,
    );
    expect(props).toEqual({
      contentType: 'text/plain',
      contentEncoding: null,
      headers: [['x-retries', 3]],
      deliveryMode: 2,
      priority: 5,
      correlationId: 'job-7',
      replyTo: null,
      expiration: '60000',
      messageId: null,
      timestamp: 1_700_000_000,
      kind: null,
      userId: null,
      appId: null,
    });
    const refused = (change: Partial<ReturnType<typeof newProperties>>) => {
      const result = propertiesFrom({ ...newProperties(), ...change }, 0);
      return 'key' in result ? result.key : null;
    };
    expect(refused({ priority: '256' })).toBe('amqp.check.priority');
    expect(refused({ priority: '1.5' })).toBe('amqp.check.priority');
    expect(refused({ expiration: '10s' })).toBe('amqp.check.expiration');
    expect(refused({ messageId: 'x'.repeat(256) })).toBe('amqp.check.too-long');
    expect(refused({ replyTo: 'a\nb' })).toBe('amqp.check.control');
  });

  it('checks prefetch and base64 bodies', () => {
    expect(prefetchFrom('1')).toBe(1);
    expect(prefetchFrom('65535')).toBe(65535);
    expect(prefetchFrom('0')).toMatchObject({ key: 'amqp.check.prefetch' });
    expect(prefetchFrom('')).toMatchObject({ key: 'amqp.check.prefetch' });
    expect(checkBase64('SGVs bG8=')).toBeNull();
    expect(checkBase64('SGVsbG8')).toMatchObject({ key: 'amqp.check.base64' });
  });
});
