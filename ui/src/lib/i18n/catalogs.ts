// Every area's strings, registered once at start (imported by main.ts and the tests).
import { register, type Catalog } from './index.svelte';
import { sessionMessages } from '../session/messages';
import { appMessages } from './app.messages';

export const catalogs: Record<string, Catalog> = {
  app: appMessages,
  session: sessionMessages,
};

for (const catalog of Object.values(catalogs)) register(catalog);
