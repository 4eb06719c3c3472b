// Strings of subscribing from the topic tree (its detail pane and its menu), in both languages.
import type { Catalog } from '../i18n/index.svelte';

export const treeSubscribeMessages: Catalog = {
  en: {
    'treesub.title': 'Subscribe',
    'treesub.qos': 'QoS',
    'treesub.with-app':
      'With this app’s own session on the embedded broker: what arrives shows under “This app”.',
    'treesub.with-session': 'With the session “{name}”: what arrives shows under its source.',
    'treesub.no-app':
      'Start the embedded broker: this app then subscribes with its own session, with nothing to set up.',
    'treesub.topic': 'this topic',
    'treesub.subtree': 'this topic and everything below it',
    'treesub.not-subscribed': 'Not subscribed',
    'treesub.subscribe': 'Subscribe',
    'treesub.subscribe-label': 'Subscribe to {filter} at QoS {qos}',
    'treesub.change-qos': 'Change to QoS {qos}',
    'treesub.unsubscribe': 'Unsubscribe',
    'treesub.unsubscribe-label': 'Unsubscribe from {filter}',
    'treesub.app-offline':
      'The embedded broker is not running, so this app’s session is not connected: the subscription is kept and sent when the broker starts.',
    'treesub.offline':
      '“{name}” is not connected: the subscription is saved in the session and sent when it connects.',
    'treesub.connect': 'Connect',
    'treesub.menu-label': 'Subscribe to {topic}',
    'treesub.menu-subscribe': 'Subscribe to {filter} (QoS {qos})',
    'treesub.menu-unsubscribe': 'Unsubscribe from {filter}',
    'treesub.menu-hint': 'In the tree: right-click a topic, or press Shift+F10 or the Menu key.',
  },
  'zh-CN': {
    'treesub.title': '订阅',
    'treesub.qos': 'QoS',
    'treesub.with-app': '使用本应用在内置 Broker 上的会话：收到的消息显示在“本应用”下。',
    'treesub.with-session': '使用会话“{name}”：收到的消息显示在它的来源下。',
    'treesub.no-app': '请启动内置 Broker：之后本应用用自己的会话订阅，无需任何设置。',
    'treesub.topic': '此主题',
    'treesub.subtree': '此主题及其下所有主题',
    'treesub.not-subscribed': '未订阅',
    'treesub.subscribe': '订阅',
    'treesub.subscribe-label': '以 QoS {qos} 订阅 {filter}',
    'treesub.change-qos': '改为 QoS {qos}',
    'treesub.unsubscribe': '取消订阅',
    'treesub.unsubscribe-label': '取消订阅 {filter}',
    'treesub.app-offline':
      '内置 Broker 没有运行，所以本应用的会话未连接：订阅会保留，并在 Broker 启动后发送。',
    'treesub.offline': '“{name}”未连接：订阅已保存在该会话中，连接后发送。',
    'treesub.connect': '连接',
    'treesub.menu-label': '订阅 {topic}',
    'treesub.menu-subscribe': '订阅 {filter}（QoS {qos}）',
    'treesub.menu-unsubscribe': '取消订阅 {filter}',
    'treesub.menu-hint': '在主题树中：右键点击主题，或按 Shift+F10 或菜单键。',
  },
};
