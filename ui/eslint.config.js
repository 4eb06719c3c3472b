import js from '@eslint/js';
import ts from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

export default ts.config(
  { ignores: ['dist/', 'student-dist/', 'node_modules/', 'src/lib/platform/bindings.ts'] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser } },
  },
  {
    // Topics and payloads are data: never let markup through.
    rules: {
      'svelte/no-at-html-tags': 'error',
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Render text with textContent or Svelte bindings.' },
        { property: 'outerHTML', message: 'Render text with textContent or Svelte bindings.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@tauri-apps/*'],
              message: 'Only src/lib/platform may import @tauri-apps/*; use the platform module.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/lib/platform/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
