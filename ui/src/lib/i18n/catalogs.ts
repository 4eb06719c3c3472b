// Every area's strings, registered once at start (imported by main.ts and the tests).
import { register, type Catalog } from './index.svelte';
import { appMessages } from './app.messages';
import { brokerMessages } from '../broker/messages';
import { chartMessages } from '../charts/messages';
import { errorMessages } from './errors';
import { sessionMessages } from '../session/messages';
import { shellMessages } from '../shell/messages';
import { trafficMessages } from '../traffic/messages';
import { teachMessages } from '../teach/messages';
import { decodeMessages } from '../decode/messages';
import { toolsMessages } from '../tools/messages';
import { captureMessages } from '../capture/messages';
import { classroomMessages } from '../classroom/messages';
import { learnMessages } from '../learn/messages';
import { proxyMessages } from '../proxy/messages';
import { pcapMessages } from '../pcap/messages';
import { faultsMessages } from '../faults/messages';
import { amqpMessages } from '../amqp/messages';
import { amqpQueuesMessages } from '../amqp/queues/messages';
import { treeSubscribeMessages } from '../traffic/subscribe.messages';

export const catalogs: Record<string, Catalog> = {
  app: appMessages,
  broker: brokerMessages,
  charts: chartMessages,
  errors: errorMessages,
  session: sessionMessages,
  shell: shellMessages,
  traffic: trafficMessages,
  teach: teachMessages,
  decode: decodeMessages,
  tools: toolsMessages,
  capture: captureMessages,
  classroom: classroomMessages,
  learn: learnMessages,
  proxy: proxyMessages,
  pcap: pcapMessages,
  faults: faultsMessages,
  amqp: amqpMessages,
  amqpQueues: amqpQueuesMessages,
  treeSubscribe: treeSubscribeMessages,
};

for (const catalog of Object.values(catalogs)) register(catalog);
