import { describe, expect, it } from 'vitest';
import type { PacketRow } from '../platform';
import type { SequenceRow } from '../platform/teach';
import { t } from '../i18n/index.svelte';
import { journey, label, layout, toMermaid, toSvg } from './sequence';
import { why } from './words';

let serial = 0;
function row(
  clientId: string,
  direction: 'Inbound' | 'Outbound',
  kind: PacketRow['kind'],
  extra: Partial<PacketRow> = {},
): SequenceRow {
  serial += 1;
  return {
    serial,
    packet: {
      timeMs: 1_000 + serial,
      direction,
      clientId,
      remote: null,
      kind,
      packetId: null,
      qos: 0,
      retain: false,
      dup: false,
      topic: null,
      payloadLen: 0,
      size: 2,
      reason: null,
      fields: [],
      ...extra,
    },
  };
}

/** The QoS 2 publish to a QoS 1 subscriber, as the broker logs it. */
function exchange(): SequenceRow[] {
  return [
    row('sub', 'Inbound', 'Connect', {
      fields: [
        { name: 'Keep Alive', value: '60 s' },
        { name: 'Clean Start', value: 'yes' },
        { name: 'Client Identifier', value: 'sub' },
      ],
    }),
    row('sub', 'Outbound', 'ConnAck', { reason: 0 }),
    row('sub', 'Inbound', 'Subscribe', { packetId: 1, fields: [{ name: 'Filter', value: 'a/# (QoS 1)' }] }),
    row('sub', 'Outbound', 'SubAck', { packetId: 1, fields: [{ name: 'Reason Codes', value: '0x01' }] }),
    row('pub', 'Inbound', 'Connect'),
    row('pub', 'Outbound', 'ConnAck', { reason: 0 }),
    row('pub', 'Inbound', 'Publish', { qos: 2, packetId: 7, topic: 'a/b' }),
    row('pub', 'Outbound', 'PubRec', { packetId: 7 }),
    row('sub', 'Outbound', 'Publish', { qos: 1, packetId: 1, topic: 'a/b' }),
    row('pub', 'Inbound', 'PubRel', { packetId: 7 }),
    row('pub', 'Outbound', 'PubComp', { packetId: 7 }),
    row('sub', 'Inbound', 'PubAck', { packetId: 1 }),
    row('pub', 'Inbound', 'Disconnect'),
  ];
}

describe('sequence diagram', () => {
  it('labels packets as the specification names them', () => {
    const rows = exchange();
    expect(label(rows[0]!.packet, t)).toBe('CONNECT (client id "sub", keep alive 60 s, clean start)');
    expect(label(rows[1]!.packet, t)).toBe('CONNACK (code 0x00)');
    expect(label(rows[2]!.packet, t)).toBe('SUBSCRIBE (id 1, a/# (QoS 1))');
    expect(label(rows[3]!.packet, t)).toBe('SUBACK (id 1, codes 0x01)');
    expect(label(rows[6]!.packet, t)).toBe('PUBLISH (QoS 2, id 7, a/b)');
    expect(label(rows[7]!.packet, t)).toBe('PUBREC (id 7)');
  });

  it('puts each packet on its client lane, in time order, with its direction', () => {
    const d = layout(exchange(), [], [], false, t);
    expect(d.lanes).toEqual(['sub', 'pub']);
    const pub = d.arrows.filter((a) => a.row.clientId === 'pub');
    expect(pub.map((a) => a.label.split(' ')[0])).toEqual([
      'CONNECT', 'CONNACK', 'PUBLISH', 'PUBREC', 'PUBREL', 'PUBCOMP', 'DISCONNECT',
    ]);
    expect(pub.map((a) => `${a.from}>${a.to}`)).toEqual(['2>0', '0>2', '2>0', '0>2', '2>0', '0>2', '2>0']);
    const ys = d.arrows.map((a) => a.y);
    expect([...ys].sort((a, b) => a - b)).toEqual(ys);
  });

  it('follows one message: the publisher’s handshake and each delivery with its acknowledgement', () => {
    const rows = exchange();
    const picked = journey(rows, rows[6]!, false);
    const kinds = rows.filter((r) => picked.has(r.serial)).map((r) => `${r.packet.clientId}:${r.packet.kind}`);
    expect(kinds).toEqual([
      'pub:Publish', 'pub:PubRec', 'sub:Publish', 'pub:PubRel', 'pub:PubComp', 'sub:PubAck',
    ]);
  });

  it('shows a client silent past its keep-alive', () => {
    const rows = exchange().slice(0, 2);
    const late = row('sub', 'Inbound', 'PingReq');
    late.packet.timeMs = rows[1]!.packet.timeMs + 120_000;
    const d = layout([...rows, late], [], [], false, t);
    expect(d.marks.map((m) => m.kind)).toEqual(['gap', 'silent']);
    expect(d.marks[1]!.text).toBe('no packets for 120 s (keep alive 60 s)');
  });

  it('exports SVG and Mermaid with topics and client ids as text only', () => {
    const hostile = '<img src=x onerror=alert(1)>;#x';
    const rows = [row(hostile, 'Inbound', 'Publish', { topic: 'a/<b>&"c"', qos: 1, packetId: 2 })];
    const d = layout(rows, [], [], false, t);
    const svg = toSvg(d, 'Broker');
    expect(svg).not.toContain('<img');
    expect(svg).toContain('&lt;img src=x onerror');
    expect(svg).toContain('a/&lt;b&gt;&amp;&quot;c&quot;');
    const mermaid = toMermaid(d, 'Broker');
    expect(mermaid.split('\n')[0]).toBe('sequenceDiagram');
    expect(mermaid).not.toContain('<');
    expect(mermaid).toContain('participant P1 as #60;img src=x onerror=alert(1)#62;#59;#35;x');
    expect(mermaid).toContain('P1->>P0: PUBLISH (QoS 1, id 2, a/#60;b#62;&"c")');
  });

  it('says why in words', () => {
    const message = {
      serial: 1, timeMs: 0, topic: 'a/b', qos: 2, retain: false, payloadLen: 1,
      origin: 'Client' as const, publisher: 'pub', receivers: [], more: 0,
    };
    const line = {
      clientId: 'sub', connected: true, outcome: 'Delivered' as const, filters: ['a/#'],
      qos: 1, retain: false, group: null, member: null,
    };
    expect(why(line, message, t)).toBe(
      'its filter a/# matched; effective QoS 1 = min(published 2, subscribed); retain flag sent as no',
    );
    expect(why({ ...line, outcome: 'SharedToOther', group: 'g', member: 'm2' }, message, t)).toContain(
      'group g gives each message to one member: this one went to m2',
    );
  });
});
