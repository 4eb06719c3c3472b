import { describe, expect, it } from 'vitest';
import { detect, fileName, imageKind, looksLikeText, parseJson } from './detect';

const bytes = (...values: number[]) => new Uint8Array(values);
const ascii = (text: string) => new TextEncoder().encode(text);

const PNG = bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13);
const JPEG = bytes(0xff, 0xd8, 0xff, 0xe0, 0, 16);
const GIF = ascii('GIF89a\x01\x00');
const WEBP = new Uint8Array([...ascii('RIFF'), 0x24, 0, 0, 0, ...ascii('WEBPVP8 ')]);

describe('payload detection', () => {
  it('recognises images by their magic bytes', () => {
    expect(imageKind(PNG)).toBe('png');
    expect(imageKind(JPEG)).toBe('jpeg');
    expect(imageKind(GIF)).toBe('gif');
    expect(imageKind(ascii('GIF87a'))).toBe('gif');
    expect(imageKind(WEBP)).toBe('webp');
    expect(imageKind(ascii('RIFF....WAVE'))).toBeNull();
    expect(imageKind(PNG.subarray(0, 7))).toBeNull();
    expect(imageKind(new Uint8Array())).toBeNull();
    expect(detect(PNG)).toEqual({ kind: 'png', mime: 'image/png', json: null });
    expect(detect(WEBP).mime).toBe('image/webp');
  });

  it('recognises JSON objects and arrays, text and other bytes', () => {
    expect(detect(ascii(' {"t":21.5} ')).kind).toBe('json');
    expect(detect(ascii('[1,2]')).json).toEqual({ value: [1, 2], pretty: '[\n  1,\n  2\n]' });
    expect(detect(ascii('21.5')).kind).toBe('text');
    expect(detect(ascii('{"t":')).kind).toBe('text');
    expect(detect(bytes(0x68, 0xff)).kind).toBe('binary');
    expect(detect(bytes(0x68, 0x00, 0x69)).kind).toBe('binary');
    expect(detect(new Uint8Array()).kind).toBe('text');
    expect(parseJson(ascii('not json'))).toBeNull();
  });

  it('treats a long text cut in the middle of a character as text', () => {
    const long = ascii('€'.repeat(30_000)); // 90,000 bytes; 64 KiB ends inside a character
    expect(looksLikeText(long)).toBe(true);
  });
});

describe('file names', () => {
  it('turns a topic into a safe file name with the fitting extension', () => {
    expect(fileName('home/kitchen/temp', 'json')).toBe('home-kitchen-temp.json');
    expect(fileName('cam/front', 'jpeg')).toBe('cam-front.jpg');
    expect(fileName('cam/front', 'png')).toBe('cam-front.png');
    expect(fileName('a', 'gif')).toBe('a.gif');
    expect(fileName('a', 'webp')).toBe('a.webp');
    expect(fileName('a', 'text')).toBe('a.txt');
    expect(fileName('a', 'binary')).toBe('a.bin');
  });

  it('removes path tricks, markup and control characters', () => {
    expect(fileName('../../etc/passwd', 'binary')).toBe('etc-passwd.bin');
    expect(fileName('$SYS/broker/uptime', 'text')).toBe('SYS-broker-uptime.txt');
    expect(fileName('e2e/<img src=x onerror=1>', 'text')).toBe('e2e-_img_src_x_onerror_1.txt');
    expect(fileName('a\\b:c*d?"e\u0000f', 'binary')).toBe('a_b_c_d_e_f.bin');
    expect(fileName('家/温度', 'text')).toBe('家-温度.txt');
    expect(fileName('', 'binary')).toBe('payload.bin');
    expect(fileName('///', 'binary')).toBe('payload.bin');
    expect(fileName('CON', 'text')).toBe('CON_.txt');
    expect(fileName('x'.repeat(300), 'text')).toBe(`${'x'.repeat(100)}.txt`);
  });
});
