import { mount } from 'svelte';
import App from './App.svelte';
import { detectPlatform } from './lib/platform';
import './app.css';
import './lib/i18n/catalogs';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks the #app element');

mount(App, { target, props: { platform: detectPlatform() } });
