// Strings of capture files (pcap, pcapng): opening one as a source, saving a packet log.
import type { Catalog } from '../i18n/index.svelte';

export const pcapMessages: Catalog = {
  en: {
    'pcap.heading': 'Capture files',
    'pcap.open-capture': 'Open capture…',
    'pcap.path': 'pcap or pcapng file',
    'pcap.path-placeholder': 'e.g. /home/me/device.pcapng (tcpdump -w, Wireshark)',
    'pcap.ports': 'Broker ports (when not 1883)',
    'pcap.bad-ports': 'Ports are whole numbers from 1 to 65535, separated by commas.',
    'pcap.open': 'Open',
    'pcap.cancel': 'Cancel',
    'pcap.close': 'Close this capture',
    'pcap.summary': '{packets} MQTT packets',
    'pcap.opened': 'Opened: {packets} MQTT packets in {connections} connections.',
    'pcap.opened-problems':
      'Opened {packets} MQTT packets; {problems} problems, the first: {first}',
    'pcap.save': 'Save as pcapng',
    'pcap.save-title':
      'Save the packets shown (with the filters) as a pcapng capture for Wireshark or tshark',
    'pcap.saved': 'Saved {count} packets as pcapng to {path}',
  },
  'zh-CN': {
    'pcap.heading': '抓包文件',
    'pcap.open-capture': '打开抓包文件…',
    'pcap.path': 'pcap 或 pcapng 文件',
    'pcap.path-placeholder': '例如 /home/me/device.pcapng（tcpdump -w、Wireshark）',
    'pcap.ports': 'Broker 端口（不是 1883 时填写）',
    'pcap.bad-ports': '端口是 1 到 65535 的整数，用逗号分隔。',
    'pcap.open': '打开',
    'pcap.cancel': '取消',
    'pcap.close': '关闭这个抓包文件',
    'pcap.summary': '{packets} 个 MQTT 报文',
    'pcap.opened': '已打开：{connections} 个连接中的 {packets} 个 MQTT 报文。',
    'pcap.opened-problems': '已打开 {packets} 个 MQTT 报文；{problems} 个问题，第一个：{first}',
    'pcap.save': '保存为 pcapng',
    'pcap.save-title': '把显示的报文（按当前筛选）保存为 pcapng 抓包文件，用 Wireshark 或 tshark 打开',
    'pcap.saved': '已将 {count} 个报文保存为 pcapng：{path}',
  },
};
