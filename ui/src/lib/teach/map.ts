// The live map's model, apart from the DOM: where the broker and the clients sit, the dots of the
// messages on their way (publisher → broker → each receiver, then small acknowledgement pulses
// back), sampling at high rates, edge rates for thickness, and drawing on a 2D canvas. Client ids
// and topics are drawn with fillText: text, never markup.
import type { ClientView } from '../platform';
import type { RoutedMessage } from '../platform/teach';

export interface MapNode {
  id: string;
  x: number;
  y: number;
  /** Subscriptions, as "filter (QoS n)". */
  subscriptions: string[];
  connected: boolean;
  /** Dots that reached it since the map opened. */
  received: number;
}

export interface Dot {
  message: RoutedMessage;
  /** 0..1 on its way to the broker, 1..2 out to the receivers. */
  progress: number;
  arrived: Set<string>;
}

export interface Pulse {
  client: string;
  /** 0..1 from `client` to the broker when toBroker, else the other way. */
  progress: number;
  toBroker: boolean;
}

export const QOS_COLOURS = ['#9ca3af', '#2563eb', '#ea580c'];
const qosColour = (qos: number): string => QOS_COLOURS[qos] ?? '#9ca3af';
/** The most dots in flight; more messages are sampled out (counted in the edges' rates). */
export const MAX_DOTS = 24;
/** The most messages waiting for a dot. */
export const MAX_WAITING = 48;
/** One leg takes this long at normal speed. */
export const LEG_MS = 700;
const RATE_WINDOW_MS = 5000;

/** Places the broker in the middle, publishers on the left, subscribers on the right. */
export function place(
  clients: ClientView[],
  transient: string[],
  width: number,
  height: number,
  previous: Map<string, MapNode>,
): Map<string, MapNode> {
  const nodes = new Map<string, MapNode>();
  const left: { id: string; c: ClientView | null }[] = [];
  const right: { id: string; c: ClientView | null }[] = [];
  for (const c of clients) {
    (c.subscriptions.length > 0 ? right : left).push({ id: c.clientId, c });
  }
  for (const id of transient) {
    if (!clients.some((c) => c.clientId === id)) left.push({ id, c: null });
  }
  const cx = width / 2;
  const cy = height / 2;
  const rx = Math.max(80, width / 2 - 110);
  const ry = Math.max(60, height / 2 - 40);
  const arc = (list: typeof left, side: -1 | 1) =>
    list.forEach((entry, i) => {
      const span = Math.min(Math.PI * 0.8, 0.35 * Math.max(1, list.length));
      const angle = list.length === 1 ? 0 : -span / 2 + (span * i) / (list.length - 1);
      nodes.set(entry.id, {
        id: entry.id,
        x: cx + side * rx * Math.cos(angle),
        y: cy + ry * Math.sin(angle),
        subscriptions: entry.c?.subscriptions.map((s) => `${s.filter} (QoS ${s.qos})`) ?? [],
        connected: entry.c !== null,
        received: previous.get(entry.id)?.received ?? 0,
      });
    });
  arc(left, -1);
  arc(right, 1);
  return nodes;
}

/** Messages per second on each client's edge over the last few seconds. */
export class EdgeRates {
  private events: { at: number; client: string; weight: number }[] = [];

  /** A message from its publisher to its receivers, standing for `weight` messages. */
  add(message: RoutedMessage, at: number, weight: number) {
    if (message.publisher) this.events.push({ at, client: message.publisher, weight });
    for (const r of message.receivers) this.events.push({ at, client: r.clientId, weight });
    if (this.events.length > 20_000) this.events.splice(0, this.events.length - 20_000);
  }

  rates(now: number): Map<string, number> {
    while ((this.events[0]?.at ?? now) < now - RATE_WINDOW_MS) this.events.shift();
    const out = new Map<string, number>();
    for (const e of this.events) out.set(e.client, (out.get(e.client) ?? 0) + e.weight);
    for (const [k, v] of out) out.set(k, v / (RATE_WINDOW_MS / 1000));
    return out;
  }

  get empty() {
    return this.events.length === 0;
  }
}

/**
 * Moves dots and pulses on by `elapsed` ms at `speed`. Returns the dots still moving; calls
 * `reached` for each receiver a dot reaches and adds acknowledgement pulses for QoS 1 and 2.
 */
export function advance(
  dots: Dot[],
  pulses: Pulse[],
  elapsed: number,
  speed: number,
  reached: (client: string, dot: Dot) => void,
): { dots: Dot[]; pulses: Pulse[] } {
  const step = (elapsed * speed) / LEG_MS;
  const moving: Dot[] = [];
  // Pulses already on their way move on; new ones start from their end this frame.
  const still = pulses.filter((p) => {
    p.progress += step * 2;
    return p.progress < 1;
  });
  pulses = still;
  for (const dot of dots) {
    const before = dot.progress;
    dot.progress += step;
    const m = dot.message;
    if (before < 1 && dot.progress >= 1 && m.qos > 0 && m.publisher) {
      pulses.push({ client: m.publisher, progress: 0, toBroker: false });
    }
    if (dot.progress >= 2) {
      for (const r of m.receivers) {
        if (dot.arrived.has(r.clientId)) continue;
        dot.arrived.add(r.clientId);
        reached(r.clientId, dot);
        if (r.qos > 0) pulses.push({ client: r.clientId, progress: 0, toBroker: true });
      }
      continue;
    }
    // Nobody got it: the dot stops at the broker.
    if (m.receivers.length === 0 && dot.progress >= 1.3) continue;
    moving.push(dot);
  }
  return { dots: moving, pulses };
}

/** Where a dot is drawn: on its way in, or (one position per receiver) on its way out. */
export function dotPositions(
  dot: Dot,
  nodes: Map<string, MapNode>,
  broker: { x: number; y: number },
): { x: number; y: number }[] {
  const m = dot.message;
  if (dot.progress < 1) {
    const from = nodes.get(m.publisher) ?? broker;
    const p = dot.progress;
    return [{ x: from.x + (broker.x - from.x) * p, y: from.y + (broker.y - from.y) * p }];
  }
  const p = Math.min(1, dot.progress - 1);
  return m.receivers
    .map((r) => nodes.get(r.clientId))
    .filter((n): n is MapNode => n !== undefined)
    .map((n) => ({ x: broker.x + (n.x - broker.x) * p, y: broker.y + (n.y - broker.y) * p }));
}

export interface Palette {
  text: string;
  muted: string;
  edge: string;
  node: string;
  broker: string;
  selected: string;
}

/** Draws the whole map. */
export function draw(
  ctx: CanvasRenderingContext2D,
  width: number,
  height: number,
  nodes: Map<string, MapNode>,
  dots: Dot[],
  pulses: Pulse[],
  rates: Map<string, number>,
  palette: Palette,
  zoom: number,
  selected: string | null,
  brokerLabel: string,
) {
  const broker = { x: width / 2, y: height / 2 };
  ctx.clearRect(0, 0, width, height);
  ctx.font = `${12 * zoom}px DejaVu Sans, sans-serif`;
  ctx.textAlign = 'center';
  for (const node of nodes.values()) {
    const rate = rates.get(node.id) ?? 0;
    ctx.strokeStyle = palette.edge;
    ctx.lineWidth = zoom * (1 + Math.min(10, Math.log2(1 + rate)));
    ctx.beginPath();
    ctx.moveTo(broker.x, broker.y);
    ctx.lineTo(node.x, node.y);
    ctx.stroke();
    if (node.subscriptions.length > 0) {
      ctx.fillStyle = palette.muted;
      const text = node.subscriptions.slice(0, 2).join(', ') + (node.subscriptions.length > 2 ? ' …' : '');
      ctx.fillText(text, (broker.x + node.x) / 2, (broker.y + node.y) / 2 - 6 * zoom);
    }
  }
  for (const pulse of pulses) {
    const node = nodes.get(pulse.client);
    if (!node) continue;
    const p = pulse.toBroker ? pulse.progress : 1 - pulse.progress;
    ctx.fillStyle = '#0d9488';
    ctx.beginPath();
    ctx.arc(node.x + (broker.x - node.x) * p, node.y + (broker.y - node.y) * p, 3 * zoom, 0, Math.PI * 2);
    ctx.fill();
  }
  for (const dot of dots) {
    const m = dot.message;
    ctx.fillStyle = qosColour(m.qos);
    for (const at of dotPositions(dot, nodes, broker)) {
      ctx.beginPath();
      ctx.arc(at.x, at.y, 6 * zoom, 0, Math.PI * 2);
      ctx.fill();
      if (m.retain || m.origin === 'Will' || m.topic.startsWith('$SYS')) {
        ctx.fillStyle = palette.text;
        ctx.fillText(m.origin === 'Will' ? 'W' : m.retain ? 'R' : '$', at.x, at.y - 9 * zoom);
        ctx.fillStyle = qosColour(m.qos);
      }
    }
  }
  ctx.fillStyle = palette.broker;
  ctx.beginPath();
  ctx.arc(broker.x, broker.y, 28 * zoom, 0, Math.PI * 2);
  ctx.fill();
  ctx.fillStyle = '#ffffff';
  ctx.fillText(brokerLabel, broker.x, broker.y + 4 * zoom);
  for (const node of nodes.values()) {
    ctx.fillStyle = node.id === selected ? palette.selected : palette.node;
    ctx.strokeStyle = node.connected ? palette.text : palette.muted;
    ctx.lineWidth = node.id === selected ? 3 : 1;
    ctx.beginPath();
    ctx.arc(node.x, node.y, 16 * zoom, 0, Math.PI * 2);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = node.connected ? palette.text : palette.muted;
    const name = node.id.length > 24 ? `${node.id.slice(0, 23)}…` : node.id;
    ctx.fillText(name, node.x, node.y + 30 * zoom);
    const rate = rates.get(node.id);
    if (rate && rate >= 1) ctx.fillText(`${Math.round(rate)}/s`, node.x, node.y + 44 * zoom);
  }
}

/** The node at (x, y), if any. */
export function nodeAt(nodes: Map<string, MapNode>, x: number, y: number, zoom: number): MapNode | null {
  for (const node of nodes.values()) {
    if (Math.hypot(node.x - x, node.y - y) <= 18 * zoom) return node;
  }
  return null;
}

/** The dot at (x, y), if any. */
export function dotAt(
  dots: Dot[],
  nodes: Map<string, MapNode>,
  broker: { x: number; y: number },
  x: number,
  y: number,
  zoom: number,
): Dot | null {
  for (const dot of dots) {
    if (dotPositions(dot, nodes, broker).some((p) => Math.hypot(p.x - x, p.y - y) <= 9 * zoom)) {
      return dot;
    }
  }
  return null;
}
