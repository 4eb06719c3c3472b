// Errors in the UI's language. The backend's messages are precise English sentences (they name
// the host, the code, the field); in another language each is introduced by its kind, translated,
// so the reader knows what failed even where the detail stays English.
import { describeError, PlatformError, type ErrorCode } from '../platform';
import { locale, t } from './index.svelte';
import type { Catalog } from './index.svelte';

/** The kind of failure, in the current language. */
export function errorKind(code: ErrorCode | 'Unavailable'): string {
  return t(`error.${code}`);
}

/** Prefixes a backend sentence with its translated kind, outside English. */
export function withKind(code: ErrorCode | 'Unavailable', message: string): string {
  return locale() === 'en' ? message : `${errorKind(code)}：${message}`;
}

/** A sentence for any error a platform call can raise, in the current language. */
export function errorText(error: unknown): string {
  if (error instanceof PlatformError) return withKind(error.code, error.message);
  return describeError(error);
}

export const errorMessages: Catalog = {
  en: {
    'error.InvalidInput': 'Invalid input',
    'error.InvalidTopic': 'Invalid topic',
    'error.InvalidTopicFilter': 'Invalid topic filter',
    'error.PortInUse': 'Port in use',
    'error.AuthFailed': 'Authentication failed',
    'error.Unreachable': 'Cannot reach the broker',
    'error.Tls': 'TLS error',
    'error.Protocol': 'Protocol error',
    'error.NotFound': 'Not found',
    'error.InvalidState': 'Not possible now',
    'error.Io': 'File error',
    'error.Internal': 'Internal error',
    'error.Unavailable': 'No backend',
  },
  'zh-CN': {
    'error.InvalidInput': '输入无效',
    'error.InvalidTopic': '主题无效',
    'error.InvalidTopicFilter': '主题过滤器无效',
    'error.PortInUse': '端口已被占用',
    'error.AuthFailed': '认证失败',
    'error.Unreachable': '无法连接到代理',
    'error.Tls': 'TLS 错误',
    'error.Protocol': '协议错误',
    'error.NotFound': '未找到',
    'error.InvalidState': '当前状态下无法执行',
    'error.Io': '文件读写错误',
    'error.Internal': '内部错误',
    'error.Unavailable': '没有后端',
  },
};
