// Packet captures as Wireshark keeps them: a pcap or pcapng file opened as a source of its own,
// closed again, and any source's packet log saved as pcapng into the Downloads folder.
import { commands } from './bindings';
import type {
  CaptureStats,
  OpenedCapture,
  PacketKind,
  PcapExport,
  SourceId,
} from './bindings';
import { unwrap, type Platform } from './index';

export type { CaptureStats, OpenedCapture, PcapExport };

export interface PcapCalls {
  /** Opens a capture; `ports` name the broker's ports (1883 when empty). */
  open(path: string, ports: number[]): Promise<OpenedCapture>;
  close(source: SourceId): Promise<void>;
  /** Saves what passes the packet view's filters. */
  save(source: SourceId, client: string, kind: PacketKind | null): Promise<PcapExport>;
}

const tauriPcap: PcapCalls = {
  open: (path, ports) => unwrap(commands.captureOpenPcap(path, ports)),
  close: async (source) => {
    await unwrap(commands.captureClosePcap(source));
  },
  save: (source, client, kind) => unwrap(commands.captureExportPcapng(source, client, kind)),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailablePcap: PcapCalls = { open: unavailable, close: unavailable, save: unavailable };

/** The capture-file calls over the same transport as `platform`. */
export function pcapOf(platform: Platform): PcapCalls {
  return platform.kind === 'tauri' ? tauriPcap : unavailablePcap;
}

/** The ports typed in a form ("1883, 8884"): whole numbers 1 to 65535, or an error's words. */
export function parsePorts(text: string): number[] | null {
  const parts = text
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const ports = parts.map((p) => (/^\d{1,5}$/.test(p) ? Number(p) : NaN));
  return ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) ? ports : null;
}
