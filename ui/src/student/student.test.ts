import { describe, expect, it } from 'vitest';
import { brokerUrl, clientId, keep, MAX_MESSAGES, validFilter, validTopic } from './room';
import { say, startLang, WORDS } from './words';
import { isStudent } from '../lib/classroom/students';

describe('the student page', () => {
  it('makes a client id the teacher recognises from a name', () => {
    const id = clientId('  Alice  ', () => 0.5);
    expect(id).toBe('Alice~sss');
    expect(isStudent(id)).toBe(true);
    expect(clientId('李雷\u0000\n', () => 0)).toBe('李雷~aaa');
    expect([...clientId('x'.repeat(100))].length).toBe(24 + 4);
  });

  it('checks filters and topics', () => {
    expect(validFilter('class/#')).toBe(true);
    expect(validFilter('class/+/temp')).toBe(true);
    expect(validFilter('class/#/x')).toBe(false);
    expect(validFilter('a+')).toBe(false);
    expect(validFilter('')).toBe(false);
    expect(validTopic('class/alice')).toBe(true);
    expect(validTopic('class/+')).toBe(false);
  });

  it('keeps a bounded list, newest first, long payloads cut', () => {
    let list = keep([], { topic: 't', payload: 'x'.repeat(2000), at: '' });
    expect(list[0]?.payload.length).toBe(501);
    for (let i = 0; i < 150; i++) list = keep(list, { topic: `t${i}`, payload: '', at: '' });
    expect(list.length).toBe(MAX_MESSAGES);
    expect(list[0]?.topic).toBe('t149');
  });

  it('connects to the host that served the page', () => {
    expect(brokerUrl({ hostname: '192.168.1.20' }, 8083)).toBe('ws://192.168.1.20:8083/mqtt');
    expect(brokerUrl({ hostname: 'fe80::1' }, 8083)).toBe('ws://[fe80::1]:8083/mqtt');
  });

  it('speaks both languages, the browser language first', () => {
    expect(startLang(null, ['zh-CN', 'en'])).toBe('zh');
    expect(startLang(null, ['fr-FR', 'en-GB'])).toBe('en');
    expect(startLang('en', ['zh-CN'])).toBe('en');
    expect(Object.keys(WORDS.zh).sort()).toEqual(Object.keys(WORDS.en).sort());
    expect(say('zh', 'connected', { id: '<b>x</b>' })).toBe('已连接，客户端 ID：<b>x</b>');
  });
});
