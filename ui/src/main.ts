import { mount } from 'svelte';
import App from './App.svelte';
import { detectPlatform, sourceFromQuery } from './lib/platform';
import './app.css';
import './lib/i18n/catalogs';
import { apply as applyTheme } from './lib/theme/theme.svelte';

// The theme in effect before the first paint (the user's choice, or the system's).
applyTheme();
const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks the #app element');

// A window opened with "Open in new window" names the source it starts on in its query.
const initialSource = sourceFromQuery(window.location.search);
// ...and the view (tab) it starts on: a plain id, or the topics.
const asked = new URLSearchParams(window.location.search).get('view') ?? '';
const initialView = /^[a-z0-9-]{1,32}$/.test(asked) ? asked : 'topics';
mount(App, { target, props: { platform: detectPlatform(), initialSource, initialView } });
