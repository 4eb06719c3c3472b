// Strings of the teacher's classroom panel, in both languages.
import type { Catalog } from '../i18n/index.svelte';

export const classroomMessages: Catalog = {
  en: {
    'classroom.tab': 'Classroom',
    'classroom.title': 'Classroom',
    'classroom.intro':
      'Students open a page on their phone or laptop, type a name, and subscribe and publish on this broker. Each one appears on the live map.',
    'classroom.turn-on': 'Turn classroom on',
    'classroom.turn-off': 'Turn classroom off',
    'classroom.apply': 'Apply',
    'classroom.page-port': 'Student page port',
    'classroom.ws-port': 'WebSocket port',
    'classroom.password': 'Class password (optional)',
    'classroom.password-hint': 'Students type it to connect. Leave empty for an open class.',
    'classroom.exposure':
      'While the classroom is on, the broker listens on every network this computer is on: anyone on the same network can connect.',
    'classroom.exposure-open': 'Without a class password, anyone there can also publish and subscribe.',
    'classroom.on': 'Classroom is on',
    'classroom.off': 'Classroom is off',
    'classroom.open-page': 'Students open:',
    'classroom.no-address':
      'This computer has no network address a phone could reach. Connect it to the classroom network (Wi-Fi or cable) and turn the classroom on again.',
    'classroom.other-addresses': 'Other addresses of this computer:',
    'classroom.local': 'On this computer: {url}',
    'classroom.qr': 'QR code of {url}',
    'classroom.students': 'Students connected: {count}',
    'classroom.no-students': 'No student has joined yet.',
    'classroom.password-on': 'Students need the class password.',
    'classroom.not-built': 'The student page was not built into this app: run make ui and build again.',
    'classroom.broker-stopped': 'The broker is not running: students cannot connect.',
    'classroom.port-invalid': 'A port is a number from 1 to 65535.',
  },
  'zh-CN': {
    'classroom.tab': '课堂',
    'classroom.title': '课堂',
    'classroom.intro':
      '学生在手机或电脑上打开一个页面，输入名字，就能在这个 Broker 上订阅和发布。每个学生都会出现在实时地图上。',
    'classroom.turn-on': '开启课堂',
    'classroom.turn-off': '关闭课堂',
    'classroom.apply': '应用',
    'classroom.page-port': '学生页面端口',
    'classroom.ws-port': 'WebSocket 端口',
    'classroom.password': '课堂密码（可选）',
    'classroom.password-hint': '学生连接时需要输入。留空则课堂对所有人开放。',
    'classroom.exposure':
      '课堂开启期间，Broker 在本机所在的所有网络上监听：同一网络中的任何人都可以连接。',
    'classroom.exposure-open': '没有课堂密码时，他们也都可以发布和订阅。',
    'classroom.on': '课堂已开启',
    'classroom.off': '课堂已关闭',
    'classroom.open-page': '学生打开：',
    'classroom.no-address':
      '本机没有手机能访问的网络地址。请把它连到课堂网络（Wi-Fi 或网线），然后重新开启课堂。',
    'classroom.other-addresses': '本机的其他地址：',
    'classroom.local': '在本机上：{url}',
    'classroom.qr': '{url} 的二维码',
    'classroom.students': '已连接的学生：{count}',
    'classroom.no-students': '还没有学生加入。',
    'classroom.password-on': '学生需要输入课堂密码。',
    'classroom.not-built': '这个应用没有包含学生页面：请运行 make ui 后重新构建。',
    'classroom.broker-stopped': 'Broker 没有运行：学生无法连接。',
    'classroom.port-invalid': '端口是 1 到 65535 之间的数字。',
  },
};
