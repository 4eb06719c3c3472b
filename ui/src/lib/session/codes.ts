// The broker's reason codes (CONNACK, SUBACK, DISCONNECT) in the UI's language. The backend
// sends its English sentence with the code beside it; in English that sentence is shown as it
// is, in another language the words for the code are taken from here, and an unknown code keeps
// the English sentence (it still names the code).
import type { AnswerPacket, BrokerAnswer } from '../platform/bindings';
import { locale, type Locale } from '../i18n/index.svelte';

type Words = Record<AnswerPacket, Record<number, string>>;

const ZH_CN: Words = {
  CONNACK: {
    // MQTT 3.1.1 return codes.
    0x01: '代理不支持 MQTT 3.1.1（协议版本不可接受）',
    0x02: '代理拒绝了该客户端 ID（标识符被拒绝）',
    0x03: '代理不可用（服务不可用）',
    0x04: '用户名或密码错误',
    0x05: '未授权：代理拒绝了这些凭据（mosquitto 对错误的密码也这样回答）',
    // MQTT 5 reason codes.
    0x80: '代理拒绝了连接（未指明的错误）',
    0x81: '代理认为 CONNECT 报文格式错误',
    0x82: '代理报告协议错误',
    0x83: '代理拒绝了连接（实现相关的错误）',
    0x84: '代理不支持 MQTT 5（协议版本不支持）',
    0x85: '代理拒绝了该客户端 ID（客户端标识符无效）',
    0x86: '用户名或密码错误',
    0x87: '未被授权连接',
    0x88: '代理不可用（服务不可用）',
    0x89: '代理繁忙',
    0x8a: '该客户端已被代理禁止',
    0x8c: '代理不支持该认证方法',
    0x90: '代理不接受遗嘱主题（主题名无效）',
    0x95: 'CONNECT 报文超过了代理允许的大小',
    0x97: '超出了代理的配额',
    0x99: '遗嘱载荷与其格式指示不符',
    0x9a: '代理不支持保留的遗嘱消息',
    0x9b: '代理不支持遗嘱的 QoS',
    0x9c: '代理要求改用其他服务器',
    0x9d: '代理已迁移（服务器已移动）',
    0x9f: '连接过于频繁（超出连接速率）',
  },
  SUBACK: {
    0x80: '被代理拒绝（未指明的错误）',
    0x83: '被代理拒绝（实现相关的错误）',
    0x87: '未授权',
    0x8f: '代理不接受此过滤器（主题过滤器无效）',
    0x91: '报文标识符已被占用',
    0x97: '超出了代理的配额',
    0x9e: '代理不支持共享订阅',
    0xa1: '代理不支持订阅标识符',
    0xa2: '代理不支持通配符订阅',
  },
  DISCONNECT: {
    0x00: '代理关闭了连接',
    0x04: '代理关闭了连接（并将发布遗嘱）',
    0x80: '代理断开了连接（未指明的错误）',
    0x81: '代理认为某个报文格式错误',
    0x82: '代理报告协议错误',
    0x83: '代理断开了连接（实现相关的错误）',
    0x87: '未授权',
    0x89: '代理繁忙',
    0x8b: '代理正在关闭',
    0x8d: '保活超时：代理在 1.5 倍保活时间内没有收到任何报文',
    0x8e: '会话被接管：另一个客户端以相同的客户端 ID 连接',
    0x8f: '代理不接受某个主题过滤器',
    0x90: '代理不接受某个主题名',
    0x93: '超出了接收最大值',
    0x94: '主题别名无效',
    0x95: '某个报文超过了代理允许的大小',
    0x96: '消息速率过高',
    0x97: '超出了代理的配额',
    0x98: '管理操作',
    0x99: '载荷格式无效',
    0x9a: '代理不支持保留消息',
    0x9b: '代理不支持该 QoS',
    0x9c: '代理要求改用其他服务器',
    0x9d: '代理已迁移',
    0x9e: '代理不支持共享订阅',
    0x9f: '连接过于频繁',
    0xa0: '已达到最长连接时间',
    0xa1: '代理不支持订阅标识符',
    0xa2: '代理不支持通配符订阅',
  },
};

const WORDS: Partial<Record<Locale, { words: Words; code: string; colon: string }>> = {
  'zh-CN': { words: ZH_CN, code: '代码', colon: '：' },
};

/** The broker's answer in the current language, or `english` where there are no words for it. */
export function answerText(answer: BrokerAnswer | null | undefined, english: string): string {
  const language = WORDS[locale()];
  const words = answer && language?.words[answer.packet][answer.code];
  if (!answer || !language || !words) return english;
  const hex = answer.code.toString(16).toUpperCase().padStart(2, '0');
  const text = `${words} [${answer.packet} ${language.code} 0x${hex}]`;
  return answer.detail ? `${text}${language.colon}${answer.detail}` : text;
}
