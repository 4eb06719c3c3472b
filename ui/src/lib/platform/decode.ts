// The decoders' calls: one message's readings (Sparkplug B, Protobuf by the topic's mapped type,
// inflated when compressed), a source's Sparkplug B state, its Protobuf schema settings, and JSON
// encoded as a Protobuf message. Asked when a message is shown or a pushed frame shows traffic
// moved; never on a timer.
import { commands } from './bindings';
import type {
  DecodedPayload_Serialize as DecodedPayload,
  SchemaConfig_Deserialize as SchemaConfig,
  SchemaView_Serialize as SchemaView,
  SourceId,
  StateView_Serialize as StateView,
} from './bindings';
import { toBase64, unwrap, type Platform } from './index';

export type {
  CompressedReading_Serialize as CompressedReading,
  DecodedPayload_Serialize as DecodedPayload,
  EndpointView_Serialize as EndpointView,
  GroupView_Serialize as GroupView,
  HostView,
  Issue_Serialize as Issue,
  MetricRow_Serialize as MetricRow,
  NodeView_Serialize as NodeView,
  ProtobufReading_Serialize as ProtobufReading,
  SchemaView_Serialize as SchemaView,
  SparkplugMessage_Serialize as SparkplugMessage,
  SparkplugReading_Serialize as SparkplugReading,
  StateView_Serialize as StateView,
  TopicMapping,
  IssueCode,
  OfflineReason,
  Presence,
  SchemaConfig_Deserialize as SchemaConfig,
} from './bindings';

export interface Decode {
  /** Every reading that fits the message `payload` published on `topic`. */
  payload(source: SourceId, topic: string, payload: Uint8Array): Promise<DecodedPayload>;
  /** The Sparkplug B groups, edge nodes and devices of a source, and flagged messages. */
  sparkplug(source: SourceId): Promise<StateView>;
  /** A source's Protobuf schema settings and the message types they define. */
  schema(source: SourceId): Promise<SchemaView>;
  /** Sets and saves a source's Protobuf schema settings. */
  setSchema(source: SourceId, config: SchemaConfig): Promise<SchemaView>;
  /** JSON encoded as `messageType`, in Base64. */
  encode(source: SourceId, messageType: string, json: string): Promise<string>;
}

const tauriDecode: Decode = {
  payload: (source, topic, payload) =>
    unwrap(commands.decodePayload(source, topic, toBase64(payload))),
  sparkplug: async (source) => commands.decodeSparkplugState(source),
  schema: async (source) => commands.decodeSchema(source),
  setSchema: (source, config) => unwrap(commands.decodeSetSchema(source, config)),
  encode: (source, messageType, json) =>
    unwrap(commands.decodeEncodeProtobuf(source, messageType, json)),
};

const unavailable = () =>
  Promise.reject(new Error('This page is running outside MQTT Workbench: no backend.'));

const unavailableDecode: Decode = {
  payload: unavailable,
  sparkplug: unavailable,
  schema: unavailable,
  setSchema: unavailable,
  encode: unavailable,
};

/** The decoder calls over the same transport as `platform`. */
export function decodeOf(platform: Platform): Decode {
  return platform.kind === 'tauri' ? tauriDecode : unavailableDecode;
}
