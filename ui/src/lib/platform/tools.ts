// The tools' calls: simulators (built-in examples, the file check, start and stop, live counts
// on a channel) and load tests (start and stop, progress on a channel). Counts arrive pushed by
// the backend while a tool runs; nothing here polls.
import { Channel } from '@tauri-apps/api/core';
import { commands } from './bindings';
import type {
  BenchSettings_Deserialize as BenchSettings,
  BenchStats_Deserialize as PushedBenchStats,
  BenchStats_Serialize as BenchStats,
  ExampleFile,
  SimStats,
  SimUpdate,
  Summary,
} from './bindings';
import { unwrap, type Platform } from './index';

export type { BenchSettings, BenchStats, ExampleFile, SimStats, SimUpdate, Summary };

export interface Tools {
  /** The built-in simulator files. */
  examples(): Promise<ExampleFile[]>;
  /** What a simulator file will do; rejects with every problem (line and field) otherwise. */
  check(text: string): Promise<Summary>;
  /** Starts a simulator against `url` (the embedded broker when null). */
  simStart(text: string, url: string | null, onUpdate: (update: SimUpdate) => void): Promise<Summary>;
  simStop(): Promise<SimStats>;
  /** Starts a load test; progress, then the final report (`running: false`), arrive on `onProgress`. */
  benchStart(
    settings: BenchSettings,
    url: string | null,
    onProgress: (stats: BenchStats) => void,
  ): Promise<BenchStats>;
  benchStop(): Promise<BenchStats>;
}

const tauriTools: Tools = {
  examples: () => commands.toolsSimExamples(),
  check: (text) => unwrap(commands.toolsSimCheck(text)),
  simStart: (text, url, onUpdate) => {
    const channel = new Channel<SimUpdate>();
    channel.onmessage = onUpdate;
    return unwrap(commands.toolsSimStart(text, url, channel));
  },
  simStop: () => unwrap(commands.toolsSimStop()),
  benchStart: (settings, url, onProgress) => {
    const channel = new Channel<PushedBenchStats>();
    channel.onmessage = (stats) => onProgress({ ...stats, progress: stats.progress ?? null });
    return unwrap(commands.toolsBenchStart(settings, url, channel));
  },
  benchStop: () => unwrap(commands.toolsBenchStop()),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableTools: Tools = {
  examples: unavailable,
  check: unavailable,
  simStart: unavailable,
  simStop: unavailable,
  benchStart: unavailable,
  benchStop: unavailable,
};

/** The tools' calls over the same transport as `platform`. */
export function toolsOf(platform: Platform): Tools {
  return platform.kind === 'tauri' ? tauriTools : unavailableTools;
}
