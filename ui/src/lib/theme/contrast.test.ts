// Both themes are readable: every text colour of app.css against both backgrounds meets WCAG
// 2.1 AA for normal text (a contrast ratio of at least 4.5:1), computed from the stylesheet.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Tests run from ui/ (npm test).
const css = readFileSync('src/app.css', 'utf8');

function block(selector: string): Record<string, string> {
  const start = css.indexOf(`${selector} {`);
  if (start < 0) throw new Error(`no ${selector} block in app.css`);
  const body = css.slice(start, css.indexOf('}', start));
  const vars: Record<string, string> = {};
  for (const [, name, value] of body.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{6})/g)) {
    if (name && value) vars[name] = value;
  }
  return vars;
}

function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

function contrast(a: string, b: string): number {
  const hi = Math.max(luminance(a), luminance(b));
  const lo = Math.min(luminance(a), luminance(b));
  return (hi + 0.05) / (lo + 0.05);
}

const TEXT = ['text', 'muted', 'accent', 'danger', 'ok', 'caution', 'warn'];

describe('theme contrast', () => {
  it('computes the ratios WCAG gives', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });

  for (const [name, selector] of [
    ['light', ':root'],
    ['dark', ":root[data-theme='dark']"],
  ] as const) {
    it(`the ${name} theme's text colours reach 4.5:1 on both backgrounds`, () => {
      const vars = block(selector);
      for (const background of ['bg', 'panel']) {
        for (const text of TEXT) {
          const fg = vars[text];
          const bg = vars[background];
          expect(fg, `--${text} in ${selector}`).toBeDefined();
          expect(bg, `--${background} in ${selector}`).toBeDefined();
          const ratio = contrast(fg ?? '', bg ?? '');
          expect(ratio, `--${text} on --${background} (${name})`).toBeGreaterThanOrEqual(4.5);
        }
      }
    });
  }

  it('the system-dark fallback is the dark theme', () => {
    const fallback = css.slice(css.indexOf(':root:not([data-theme]) {'));
    const dark = block(":root[data-theme='dark']");
    for (const [name, value] of Object.entries(dark)) {
      expect(fallback.slice(0, fallback.indexOf('}'))).toContain(`--${name}: ${value}`);
    }
  });
});
