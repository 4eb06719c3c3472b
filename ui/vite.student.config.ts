import { defineConfig } from 'vite';

// The classroom's student page (src/student/): a second, separate build into student-dist/, which
// the workbench-classroom crate embeds into the app at compile time (its build.rs). No inline
// scripts or styles, so the page runs under a strict Content Security Policy.
export default defineConfig({
  root: 'src/student',
  base: '/',
  clearScreen: false,
  build: {
    target: 'es2020',
    outDir: '../../student-dist',
    emptyOutDir: true,
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
  },
});
