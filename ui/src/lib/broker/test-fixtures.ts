// The broker's default limits as the backend sends them (src-tauri/crates/broker/src/limits.rs),
// for tests that need a whole BrokerStatus.
import type { LimitsView } from '../platform';

export const defaultLimits: LimitsView = {
  maxConnections: 100_000,
  maxConnectionsPerAddress: 1_000,
  maxClientIdBytes: 1_024,
  maxSubscriptionsPerClient: 10_000,
  maxKeepAlive: 60,
  receiveMaximum: 1_024,
  maxInflight: 1_000,
  topicAliasMaximum: 64,
  maxQueuedMessages: 100_000,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxQueuedBytesTotal: 1024 * 1024 * 1024,
  queueQos0WhileOffline: false,
  maxRetainedMessages: 1_000_000,
  maxRetainedBytes: 512 * 1024 * 1024,
  maxSessionExpiry: null,
  maxUnfinishedBytesTotal: 256 * 1024 * 1024,
  packetTimeoutSecs: 30,
  connectTimeoutSecs: 10,
  writeTimeoutSecs: 60,
  failedLoginDelaySecs: 1,
};
