import { describe, expect, it } from 'vitest';
import { fileNameFor } from './download';

describe('fileNameFor', () => {
  it('keeps file names safe whatever the topic holds', () => {
    expect(fileNameFor('home/kitchen/temp', 'svg')).toBe('home_kitchen_temp.svg');
    expect(fileNameFor('../../etc/passwd', 'png')).toBe('etc_passwd.png');
    expect(fileNameFor('<script>', 'svg')).toBe('script.svg');
    expect(fileNameFor('', 'png')).toBe('chart.png');
  });
});
