// The student page: join with a name (the client id the teacher sees), subscribe to a filter,
// publish to a topic, and see what arrives. MQTT over WebSocket to the classroom's broker with the
// mqtt package. Every topic and payload is put on the page as text (textContent), never markup.

import mqtt, { type MqttClient } from 'mqtt';
import { say, startLang, type Lang, type WordKey } from './words';
import { brokerUrl, clientId, keep, validFilter, validTopic, type Received } from './room';

interface ClassroomSettings {
  wsPort: number;
  password: boolean;
  username: string;
}

const LANG_KEY = 'mqtt-classroom-lang';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

function savedLang(): string | null {
  try {
    return localStorage.getItem(LANG_KEY);
  } catch {
    return null;
  }
}

let lang: Lang = startLang(savedLang(), navigator.languages ?? [navigator.language]);
let settings: ClassroomSettings | null = null;
let client: MqttClient | null = null;
let messages: Received[] = [];
/** The last status line, as a key and its values (redrawn when the language changes). */
let statusLine: { key: WordKey; values: Record<string, string> } | null = null;

function translate(): void {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = say(lang, 'title');
  for (const node of document.querySelectorAll<HTMLElement>('[data-text]')) {
    node.textContent = say(lang, node.dataset.text as WordKey);
  }
  element<HTMLSelectElement>('lang').value = lang;
  if (statusLine) element('status').textContent = say(lang, statusLine.key, statusLine.values);
}

function status(key: WordKey, values: Record<string, string> = {}): void {
  statusLine = { key, values };
  element('status').textContent = say(lang, key, values);
}

function showError(text: string | null): void {
  const node = element('error');
  node.hidden = text === null;
  node.textContent = text ?? '';
}

function drawMessages(): void {
  const list = element<HTMLOListElement>('messages');
  const items = messages.map((m) => {
    const item = document.createElement('li');
    const head = document.createElement('div');
    head.className = 'head';
    const topic = document.createElement('code');
    topic.textContent = m.topic;
    const time = document.createElement('time');
    time.textContent = m.at;
    head.append(topic, time);
    const body = document.createElement('pre');
    body.textContent = m.payload;
    item.append(head, body);
    return item;
  });
  list.replaceChildren(...items);
}

async function loadSettings(): Promise<void> {
  try {
    const answer = await fetch('/classroom.json', { cache: 'no-store' });
    settings = (await answer.json()) as ClassroomSettings;
    element('password-row').hidden = !settings.password;
  } catch {
    showError(say(lang, 'no-settings'));
  }
}

function join(event: SubmitEvent): void {
  event.preventDefault();
  const name = element<HTMLInputElement>('name').value.trim();
  if (!name) {
    showError(say(lang, 'name-needed'));
    return;
  }
  if (!settings) {
    showError(say(lang, 'no-settings'));
    return;
  }
  showError(null);
  const id = clientId(name);
  const password = element<HTMLInputElement>('password').value;
  client?.end(true);
  status('connecting');
  element('join').hidden = true;
  element('room').hidden = false;
  const topic = element<HTMLInputElement>('topic');
  if (!topic.value) topic.value = `class/${name}`;
  client = mqtt.connect(brokerUrl(window.location, settings.wsPort), {
    clientId: id,
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 3000,
    connectTimeout: 10_000,
    ...(settings.password ? { username: settings.username, password } : {}),
  });
  client.on('connect', () => {
    showError(null);
    status('connected', { id });
  });
  client.on('close', () => {
    if (client && !client.disconnecting) status('closed');
  });
  client.on('error', (error) => {
    showError(say(lang, 'refused', { reason: error.message }));
  });
  client.on('message', (topic, payload) => {
    const at = new Date().toLocaleTimeString();
    messages = keep(messages, { topic, payload: new TextDecoder().decode(payload), at });
    drawMessages();
  });
}

function subscribe(event: SubmitEvent): void {
  event.preventDefault();
  const filter = element<HTMLInputElement>('filter').value.trim();
  if (!validFilter(filter)) {
    showError(say(lang, 'bad-filter', { filter }));
    return;
  }
  showError(null);
  client?.subscribe(filter, { qos: 0 }, (error) => {
    if (error) showError(error.message);
    else status('subscribed', { filter });
  });
}

function publish(event: SubmitEvent): void {
  event.preventDefault();
  const topic = element<HTMLInputElement>('topic').value.trim();
  if (!validTopic(topic)) {
    showError(say(lang, 'bad-topic', { topic }));
    return;
  }
  showError(null);
  const payload = element<HTMLInputElement>('payload').value;
  client?.publish(topic, payload, { qos: 0 }, (error) => {
    if (error) showError(error.message);
    else status('published', { topic });
  });
}

function leave(): void {
  client?.end(true);
  client = null;
  statusLine = null;
  element('room').hidden = true;
  element('join').hidden = false;
}

element<HTMLSelectElement>('lang').addEventListener('change', (event) => {
  const value = (event.target as HTMLSelectElement).value;
  lang = value === 'zh' ? 'zh' : 'en';
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // Private mode: the choice lasts for this visit only.
  }
  translate();
});
element<HTMLFormElement>('join').addEventListener('submit', join);
element<HTMLFormElement>('subscribe').addEventListener('submit', subscribe);
element<HTMLFormElement>('publish').addEventListener('submit', publish);
element<HTMLButtonElement>('leave').addEventListener('click', leave);
translate();
void loadSettings();
