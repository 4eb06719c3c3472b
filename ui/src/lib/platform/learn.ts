// The Learn view's calls: the lesson list, opening a lesson, its state in the learner's language,
// steps, the learner's actions on the lesson's clients, reset and close. Changes arrive as one
// event each (`learnChanged`); the view then asks for the state. Nothing here polls.
import { commands, events } from './bindings';
import type {
  ActionKind,
  LearnMessage,
  LessonList_Serialize as LessonList,
  LessonState,
  TopicMatch_Serialize as TopicMatch,
} from './bindings';
import { unwrap, type Platform } from './index';

export type {
  ActionKind,
  ActorStatus,
  ActorView,
  LearnMessage,
  LessonList_Serialize as LessonList,
  LessonState,
  LessonSummary,
  RabbitView,
  RejectedFile_Serialize as RejectedFile,
  TopicMatch_Serialize as TopicMatch,
} from './bindings';

export interface LearnCalls {
  lessons(language: string): Promise<LessonList>;
  reload(language: string): Promise<LessonList>;
  open(id: string): Promise<null>;
  state(language: string): Promise<LessonState | null>;
  step(step: number): Promise<null>;
  act(
    actor: string,
    action: ActionKind,
    filter: string | null,
    qos: number,
    message: LearnMessage | null,
  ): Promise<null>;
  press(actor: string, button: number): Promise<null>;
  reset(): Promise<null>;
  close(): Promise<null>;
  forget(id: string): Promise<void>;
  /** The wildcard playground: does `filter` match `topic` (or why is either invalid)? */
  match(filter: string, topic: string): Promise<TopicMatch>;
  /** The RabbitMQ the lessons' AMQP actors use (`amqp://user:pass@host:5672/vhost`). */
  setRabbitmq(url: string): Promise<null>;
  /** Calls `onChange` each time something the view shows changed; resolves to a way to stop. */
  onChanged(onChange: () => void): Promise<() => void>;
}

const tauriLearn: LearnCalls = {
  lessons: (language) => commands.learnLessons(language),
  reload: (language) => commands.learnReload(language),
  open: (id) => unwrap(commands.learnOpen(id)),
  state: (language) => unwrap(commands.learnState(language)),
  step: (step) => unwrap(commands.learnStep(step)),
  act: (actor, action, filter, qos, message) =>
    unwrap(commands.learnAct(actor, action, filter, qos, message)),
  press: (actor, button) => unwrap(commands.learnPress(actor, button)),
  reset: () => unwrap(commands.learnReset()),
  close: () => unwrap(commands.learnClose()),
  forget: (id) => commands.learnForget(id),
  match: (filter, topic) => commands.learnMatch(filter, topic),
  setRabbitmq: (url) => unwrap(commands.learnSetRabbitmq(url)),
  onChanged: (onChange) => events.learnChanged.listen(() => onChange()),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableLearn: LearnCalls = {
  lessons: unavailable,
  reload: unavailable,
  open: unavailable,
  state: unavailable,
  step: unavailable,
  act: unavailable,
  press: unavailable,
  reset: unavailable,
  close: unavailable,
  forget: unavailable,
  match: unavailable,
  setRabbitmq: unavailable,
  onChanged: unavailable,
};

/** The Learn calls of `platform` (the unavailable stand-in outside the app). */
export function learnOf(platform: Platform): LearnCalls {
  return platform.kind === 'tauri' ? tauriLearn : unavailableLearn;
}
