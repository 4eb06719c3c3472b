// The teaching views' calls: the sequence diagram's pages of a packet log, the embedded broker's
// routed messages (the live map), routing explained, and who is busy. Asked when a pushed frame
// shows traffic moved; never on a timer.
import { commands } from './bindings';
import type {
  BusyReport,
  RoutedPage,
  RoutingExplanation_Serialize as RoutingExplanation,
  SequencePage_Serialize as SequencePage,
  SourceId,
} from './bindings';
import { unwrap, type Platform } from './index';

export type {
  BusyEntry,
  BusyReport,
  MessageOrigin,
  Receiver,
  RoutedMessage,
  RoutedPage,
  RoutingExplanation_Serialize as RoutingExplanation,
  RoutingLine_Serialize as RoutingLine,
  RoutingOutcome,
  SequenceNote,
  SequencePage_Serialize as SequencePage,
  SequenceRow_Serialize as SequenceRow,
} from './bindings';

export interface Teach {
  /** Packets of `clients` (all when empty), oldest first: newest, before or after a serial. */
  sequence(
    source: SourceId,
    clients: string[],
    before: number | null,
    after: number | null,
    count: number,
  ): Promise<SequencePage>;
  /** The broker's messages routed after `after` (0: the latest), at most `limit`, newest kept. */
  routed(after: number, limit: number): Promise<RoutedPage>;
  /** A proxy's messages for the live map, rebuilt from its packet log (as `routed`). */
  routedOf?(source: SourceId, after: number, limit: number): Promise<RoutedPage>;
  /** What became of one routed message at every client, and why. */
  explain(serial: number): Promise<RoutingExplanation>;
  /** For the latest `limit` messages, what became of each at one client. */
  whyNot(clientId: string, limit: number): Promise<RoutingExplanation[]>;
  /** Topics and clients ranked by messages (or bytes) over 10 s and 60 s. */
  busy(source: SourceId, byBytes: boolean): Promise<BusyReport>;
}

const tauriTeach: Teach = {
  sequence: async (source, clients, before, after, count) =>
    commands.teachSequence(source, clients, before, after, count),
  routed: async (after, limit) => commands.teachRouted(after, limit),
  routedOf: async (source, after, limit) => commands.teachRoutedLog(source, after, limit),
  explain: (serial) => unwrap(commands.teachExplain(serial)),
  whyNot: async (clientId, limit) => commands.teachWhyNot(clientId, limit),
  busy: async (source, byBytes) => commands.teachBusy(source, byBytes),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableTeach: Teach = {
  sequence: unavailable,
  routed: unavailable,
  explain: unavailable,
  whyNot: unavailable,
  busy: unavailable,
};

/** The teaching calls over the same transport as `platform`. */
export function teachOf(platform: Platform): Teach {
  return platform.kind === 'tauri' ? tauriTeach : unavailableTeach;
}
