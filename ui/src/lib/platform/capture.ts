// The capture calls: recording the embedded broker (its status pushed on a channel), replaying a
// file to the broker or through a session (progress pushed on a channel; pause, step, speed,
// stop), and the saved-message library. Nothing here polls.
import { Channel } from '@tauri-apps/api/core';
import { commands } from './bindings';
import type {
  ImportSummary,
  Library_Serialize as Library,
  SourceId,
  RecordingStatus_Deserialize,
  RecordingStatus_Serialize as RecordingStatus,
  Recordings,
  ReplayCommand,
  ReplayProgress_Deserialize,
  ReplayProgress_Serialize as ReplayProgress,
  ReplaySettings_Deserialize as ReplaySettings,
  ReplayTarget,
  SavedMessage_Serialize as SavedMessage,
} from './bindings';
import { unwrap, type Platform } from './index';

export type {
  Collection_Serialize as Collection,
  ImportSummary,
  Library_Serialize as Library,
  PayloadFormat,
  Problem,
  RecordingFile,
  RecordingStatus_Serialize as RecordingStatus,
  Recordings,
  ReplayCommand,
  ReplayProgress_Serialize as ReplayProgress,
  ReplaySettings_Deserialize as ReplaySettings,
  ReplayState,
  ReplayTarget,
  SavedMessage_Serialize as SavedMessage,
} from './bindings';

export interface Capture {
  recordings(): Promise<Recordings>;
  /**
   * Starts recording `source` (the embedded broker, or what a session's broker delivers);
   * `onStatus` gets its size and count as they change.
   */
  recordStart(
    source: SourceId,
    filters: string[],
    onStatus: (status: RecordingStatus) => void,
  ): Promise<RecordingStatus>;
  recordStop(): Promise<RecordingStatus>;
  /** Starts a replay; `onProgress` gets its progress as it changes, to the end. */
  replayStart(
    path: string,
    target: ReplayTarget,
    settings: ReplaySettings,
    onProgress: (progress: ReplayProgress) => void,
  ): Promise<ReplayProgress>;
  replayControl(command: ReplayCommand): Promise<void>;
  library(): Promise<Library>;
  addCollection(name: string): Promise<Library>;
  deleteCollection(collection: string): Promise<Library>;
  saveMessage(collection: string, message: SavedMessage): Promise<Library>;
  deleteMessage(collection: string, message: string): Promise<Library>;
  moveMessage(collection: string, message: string, index: number): Promise<Library>;
  /** Sends a saved message through a session; resolves to the bytes sent. */
  sendMessage(collection: string, message: string, session: string): Promise<number>;
  exportLibrary(): Promise<string>;
  /** Imports a capture file into a source's history. */
  importInto(source: SourceId, path: string): Promise<ImportSummary>;
  /** Adds a library file's collections; resolves to the library and the messages added. */
  importLibrary(text: string): Promise<[Library, number]>;
}

const tauriCapture: Capture = {
  recordings: () => commands.captureRecordings(),
  recordStart: (source, filters, onStatus) => {
    // The channel's type is the backend's input shape; what arrives is its output (every field).
    const channel = new Channel<RecordingStatus_Deserialize>();
    channel.onmessage = (status) => onStatus(status as RecordingStatus);
    return unwrap(commands.captureRecordStart(source, filters, channel));
  },
  recordStop: () => unwrap(commands.captureRecordStop()),
  replayStart: (path, target, settings, onProgress) => {
    const channel = new Channel<ReplayProgress_Deserialize>();
    channel.onmessage = (progress) => onProgress(progress as ReplayProgress);
    return unwrap(commands.captureReplayStart(path, target, settings, channel));
  },
  replayControl: async (command) => {
    await unwrap(commands.captureReplayControl(command));
  },
  library: () => commands.captureLibrary(),
  addCollection: (name) => unwrap(commands.captureCollectionAdd(name)),
  deleteCollection: (collection) => unwrap(commands.captureCollectionDelete(collection)),
  saveMessage: (collection, message) => unwrap(commands.captureMessageSave(collection, message)),
  deleteMessage: (collection, message) =>
    unwrap(commands.captureMessageDelete(collection, message)),
  moveMessage: (collection, message, index) =>
    unwrap(commands.captureMessageMove(collection, message, index)),
  sendMessage: (collection, message, session) =>
    unwrap(commands.captureMessageSend(collection, message, session)),
  exportLibrary: () => commands.captureLibraryExport(),
  importLibrary: (text) => unwrap(commands.captureLibraryImport(text)),
  importInto: (source, path) => unwrap(commands.captureImport(source, path)),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableCapture: Capture = {
  recordings: unavailable,
  recordStart: unavailable,
  recordStop: unavailable,
  replayStart: unavailable,
  replayControl: unavailable,
  library: unavailable,
  addCollection: unavailable,
  deleteCollection: unavailable,
  saveMessage: unavailable,
  deleteMessage: unavailable,
  moveMessage: unavailable,
  sendMessage: unavailable,
  exportLibrary: unavailable,
  importLibrary: unavailable,
  importInto: unavailable,
};

/** The capture calls over the same transport as `platform`. */
export function captureOf(platform: Platform): Capture {
  return platform.kind === 'tauri' ? tauriCapture : unavailableCapture;
}
