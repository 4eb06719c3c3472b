// The classroom's calls: its status, on (with the teacher's options) and off, and its changes as
// the backend pushes them (one event per change; nothing here polls).
import { commands, events } from './bindings';
import type {
  ClassroomOptions_Deserialize as ClassroomOptions,
  ClassroomStatus_Serialize as ClassroomStatus,
} from './bindings';
import { unwrap, type Platform } from './index';

export type { ClassroomOptions, ClassroomStatus };

export interface ClassroomCalls {
  status(): Promise<ClassroomStatus>;
  /** Opens the broker to the network and serves the student page; rejects with `PortInUse`. */
  on(options: ClassroomOptions): Promise<ClassroomStatus>;
  off(): Promise<ClassroomStatus>;
  /** Calls `onStatus` each time the classroom changes; resolves to a way to stop. */
  onChanged(onStatus: (status: ClassroomStatus) => void): Promise<() => void>;
}

const tauriClassroom: ClassroomCalls = {
  status: () => unwrap(commands.classroomStatus()),
  on: (options) => unwrap(commands.classroomOn(options)),
  off: () => unwrap(commands.classroomOff()),
  onChanged: (onStatus) => events.classroomChanged.listen((event) => onStatus(event.payload)),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableClassroom: ClassroomCalls = {
  status: unavailable,
  on: unavailable,
  off: unavailable,
  onChanged: unavailable,
};

/** The classroom calls of `platform` (the unavailable stand-in outside the app). */
export function classroomOf(platform: Platform): ClassroomCalls {
  return platform.kind === 'tauri' ? tauriClassroom : unavailableClassroom;
}
