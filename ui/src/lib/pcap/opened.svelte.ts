// The captures opened in this run of the app, for the sources pane (captures are not kept
// across restarts: the file is the record).
import type { OpenedCapture } from '../platform/pcap';

export const opened = $state<{ list: OpenedCapture[] }>({ list: [] });

export function remember(capture: OpenedCapture) {
  opened.list = [...opened.list, capture];
}

export function forget(id: string) {
  opened.list = opened.list.filter((c) => !(c.source.kind === 'capture' && c.source.id === id));
}
