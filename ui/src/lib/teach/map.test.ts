import { describe, expect, it } from 'vitest';
import type { ClientView } from '../platform';
import type { RoutedMessage } from '../platform/teach';
import { EdgeRates, LEG_MS, advance, place, type Dot, type Pulse } from './map';

function client(clientId: string, filters: string[] = []): ClientView {
  return {
    clientId,
    remote: '127.0.0.1:1',
    protocol: '3.1.1',
    keepAlive: 60,
    cleanSession: true,
    connectedAtMs: 0,
    subscriptions: filters.map((filter) => ({ filter, qos: 1 })),
    publishReceived: 0,
    publishSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    droppedQos0: 0,
    droppedQos12: 0,
    queued: 0,
  } as unknown as ClientView;
}

function message(qos: number, receivers: string[]): RoutedMessage {
  return {
    serial: 1,
    timeMs: 0,
    topic: 'a/b',
    qos,
    retain: false,
    payloadLen: 1,
    origin: 'Client',
    publisher: 'pub',
    receivers: receivers.map((clientId) => ({ clientId, qos, sent: true })),
    more: 0,
  };
}

describe('live map', () => {
  it('puts publishers on the left of the broker and subscribers on the right', () => {
    const nodes = place([client('pub'), client('s1', ['a/#']), client('s2', ['a/+'])], [], 800, 400, new Map());
    expect(nodes.get('pub')!.x).toBeLessThan(400);
    expect(nodes.get('s1')!.x).toBeGreaterThan(400);
    expect(nodes.get('s2')!.subscriptions).toEqual(['a/+ (QoS 1)']);
  });

  it('moves a dot to the broker, then to each receiver, with acknowledgement pulses back', () => {
    let dots: Dot[] = [{ message: message(1, ['s1', 's2']), progress: 0, arrived: new Set() }];
    let pulses: Pulse[] = [];
    const reached: string[] = [];
    ({ dots, pulses } = advance(dots, pulses, LEG_MS * 1.1, 1, (c) => reached.push(c)));
    expect(pulses.map((p) => `${p.client}:${p.toBroker}`)).toEqual(['pub:false']);
    expect(reached).toEqual([]);
    ({ dots, pulses } = advance(dots, pulses, LEG_MS, 1, (c) => reached.push(c)));
    expect(reached).toEqual(['s1', 's2']);
    expect(dots).toEqual([]);
    expect(pulses.filter((p) => p.toBroker).map((p) => p.client)).toEqual(['s1', 's2']);
  });

  it('goes slower at a quarter speed', () => {
    const dots: Dot[] = [{ message: message(0, ['s1']), progress: 0, arrived: new Set() }];
    const moved = advance(dots, [], LEG_MS, 0.25, () => {});
    expect(moved.dots[0]!.progress).toBeCloseTo(0.25);
  });

  it('counts edge rates with the weight of the sampled-out messages', () => {
    const rates = new EdgeRates();
    rates.add(message(0, ['s1']), 1000, 10);
    const now = rates.rates(1500);
    expect(now.get('pub')).toBe(2);
    expect(now.get('s1')).toBe(2);
    expect(rates.rates(10_000).size).toBe(0);
    expect(rates.empty).toBe(true);
  });
});
