// Every area's strings, registered once at start (imported by main.ts and the tests).
import { register, type Catalog } from './index.svelte';
import { appMessages } from './app.messages';
import { brokerMessages } from '../broker/messages';
import { chartMessages } from '../charts/messages';
import { errorMessages } from './errors';
import { sessionMessages } from '../session/messages';
import { trafficMessages } from '../traffic/messages';

export const catalogs: Record<string, Catalog> = {
  app: appMessages,
  broker: brokerMessages,
  charts: chartMessages,
  errors: errorMessages,
  session: sessionMessages,
  traffic: trafficMessages,
};

for (const catalog of Object.values(catalogs)) register(catalog);
