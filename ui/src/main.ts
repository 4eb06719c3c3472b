import { mount } from 'svelte';
import App from './App.svelte';
import { detectPlatform, sourceFromQuery } from './lib/platform';
import './app.css';
import './lib/i18n/catalogs';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks the #app element');

// A window opened with "Open in new window" names the source it starts on in its query.
const initialSource = sourceFromQuery(window.location.search);
mount(App, { target, props: { platform: detectPlatform(), initialSource } });
