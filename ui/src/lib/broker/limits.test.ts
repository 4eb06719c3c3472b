import { describe, expect, it } from 'vitest';
import { formToLimits, limitGroups, limitsToForm } from './limits';
import { defaultLimits } from './test-fixtures';
import { brokerMessages } from './messages';

describe('broker limits in the form', () => {
  it('go to the form in its units and come back unchanged', () => {
    const form = limitsToForm(defaultLimits);
    expect(form.values.maxQueuedBytes).toBe('64');
    expect(form.values.packetTimeoutSecs).toBe('30');
    expect(form.maxSessionExpiry).toBe('');
    expect(formToLimits(form)).toEqual({ limits: defaultLimits, problem: null });
  });

  it('read megabytes with decimals and an expiry when given', () => {
    const form = limitsToForm(defaultLimits);
    form.values.maxQueuedBytes = '0.5';
    form.maxSessionExpiry = ' 3600 ';
    const read = formToLimits(form);
    expect(read.limits?.maxQueuedBytes).toBe(512 * 1024);
    expect(read.limits?.maxSessionExpiry).toBe(3600);
  });

  it('name the first limit that is not a whole number in range', () => {
    const form = limitsToForm(defaultLimits);
    form.values.maxSubscriptionsPerClient = '10k';
    expect(formToLimits(form)).toEqual({ limits: null, problem: 'maxSubscriptionsPerClient' });
    form.values.maxSubscriptionsPerClient = '10';
    form.values.receiveMaximum = '70000';
    expect(formToLimits(form).problem).toBe('receiveMaximum');
    form.values.receiveMaximum = '-1';
    expect(formToLimits(form).problem).toBe('receiveMaximum');
    form.values.receiveMaximum = '10';
    form.maxSessionExpiry = 'forever';
    expect(formToLimits(form).problem).toBe('maxSessionExpiry');
  });

  it('has a label for every limit in both languages', () => {
    const keys = limitGroups.flatMap((g) => g.fields.map((f) => `broker.limit-${f.key}`));
    keys.push('broker.limit-maxSessionExpiry', 'broker.limit-queueQos0WhileOffline');
    for (const locale of ['en', 'zh-CN'] as const) {
      for (const key of keys) expect(brokerMessages[locale][key], `${locale} ${key}`).toBeTruthy();
    }
    // Every limit the backend has is in the form.
    const inForm = new Set([
      ...limitGroups.flatMap((g) => g.fields.map((f) => f.key as string)),
      'maxSessionExpiry',
      'queueQos0WhileOffline',
    ]);
    expect(new Set(Object.keys(defaultLimits))).toEqual(inForm);
  });
});
