// The sequence diagram's model, from packet log rows: lanes (the broker and its clients),
// arrows in time order labelled as the specification names packets and their fields, gaps, and
// the diagram as SVG text and as Mermaid text for export. Pure functions: the component draws the
// same model, and topics and client ids are only ever text (escaped here for SVG and Mermaid).
import type { PacketRow } from '../platform';
import type { SequenceNote, SequenceRow } from '../platform/teach';

/** Words the labels use, in the UI's language (t() of the teach catalog). */
export type Words = (key: string, params?: Record<string, string | number>) => string;

export interface Arrow {
  serial: number;
  row: PacketRow;
  /** Lane indexes: 0 is the broker. */
  from: number;
  to: number;
  label: string;
  y: number;
}

export interface Mark {
  /** A keep-alive gap or a pause in the traffic, or a notice (disconnect, refusal). */
  kind: 'gap' | 'silent' | 'note';
  lane: number;
  text: string;
  y: number;
}

export interface Diagram {
  lanes: string[];
  arrows: Arrow[];
  marks: Mark[];
  width: number;
  height: number;
  laneX: (lane: number) => number;
}

export const LANE_WIDTH = 220;
export const ROW_HEIGHT = 30;
export const HEAD = 50;
/** A pause longer than this shows as "N s later". */
const GAP_MS = 5000;

function field(row: PacketRow, name: string): string | undefined {
  return row.fields.find((f) => f.name === name)?.value;
}

const hex = (code: number) => `0x${code.toString(16).toUpperCase().padStart(2, '0')}`;

/** A packet's label: its name as the specification writes it, with its defining fields. */
export function label(row: PacketRow, w: Words): string {
  const name = row.kind.toUpperCase();
  const parts: string[] = [];
  const id = () => {
    if (row.packetId !== null) parts.push(w('teach.f-id', { value: row.packetId }));
  };
  switch (row.kind) {
    case 'Connect': {
      const client = field(row, 'Client Identifier') ?? row.clientId;
      parts.push(w('teach.f-client-id', { value: `"${client}"` }));
      const keepAlive = field(row, 'Keep Alive');
      if (keepAlive) parts.push(w('teach.f-keep-alive', { value: keepAlive.replace(/ s$/, '') }));
      if (field(row, 'Clean Start') === 'yes') parts.push(w('teach.f-clean'));
      break;
    }
    case 'ConnAck':
      if (row.reason !== null) parts.push(w('teach.f-code', { value: hex(row.reason) }));
      if (field(row, 'Session Present') === 'yes') parts.push(w('teach.f-session-present'));
      break;
    case 'Publish':
      parts.push(w('teach.f-qos', { value: row.qos }));
      id();
      parts.push(row.topic ?? '');
      if (row.dup) parts.push('DUP');
      if (row.retain) parts.push('RETAIN');
      break;
    case 'Subscribe':
    case 'Unsubscribe': {
      id();
      const filters = row.fields.filter((f) => f.name === 'Filter').map((f) => f.value);
      parts.push(...(filters.length > 0 ? filters : row.topic ? [row.topic] : []));
      break;
    }
    case 'SubAck':
    case 'UnsubAck': {
      id();
      const codes = field(row, 'Reason Codes');
      if (codes) parts.push(w('teach.f-codes', { value: codes }));
      break;
    }
    case 'PubAck':
    case 'PubRec':
    case 'PubRel':
    case 'PubComp':
      id();
      if (row.reason !== null && row.reason !== 0) parts.push(w('teach.f-code', { value: hex(row.reason) }));
      break;
    case 'Disconnect':
    case 'Auth':
      if (row.reason !== null) parts.push(w('teach.f-reason', { value: hex(row.reason) }));
      break;
    default:
      break;
  }
  return parts.length > 0 ? `${name} (${parts.join(', ')})` : name;
}

/** Lanes: the broker, then the clients in the order they first appear (or as chosen). */
export function lanesOf(rows: SequenceRow[], chosen: string[]): string[] {
  const clients: string[] = [...chosen];
  for (const r of rows) {
    if (!clients.includes(r.packet.clientId)) clients.push(r.packet.clientId);
  }
  return clients;
}

/**
 * Lays out `rows` (oldest first). From the broker, inbound packets go client → broker; from a
 * session (`session` true), inbound ones come from its broker.
 */
export function layout(
  rows: SequenceRow[],
  notes: SequenceNote[],
  chosen: string[],
  session: boolean,
  w: Words,
  zoom = 1,
): Diagram {
  const clients = lanesOf(rows, chosen);
  const laneWidth = LANE_WIDTH * zoom;
  const rowHeight = ROW_HEIGHT * zoom;
  const laneX = (lane: number) => laneWidth / 2 + lane * laneWidth;
  const arrows: Arrow[] = [];
  const marks: Mark[] = [];
  let y = HEAD * zoom + rowHeight;
  let lastTime: number | null = null;
  const keepAlive = new Map<string, number>();
  const lastSeen = new Map<string, number>();
  // A notice that only repeats a client's own DISCONNECT is left out: the ones that tell
  // something the packets do not (the broker closing a silent client, a refusal) stay.
  const goodbyes = rows.filter((r) => r.packet.kind === 'Disconnect');
  const pending = [...notes]
    .filter(
      (n) =>
        !goodbyes.some(
          (r) => r.packet.clientId === n.clientId && Math.abs(r.packet.timeMs - n.timeMs) < 2000,
        ),
    )
    .sort((a, b) => a.timeMs - b.timeMs);
  const place = (until: number) => {
    for (let note = pending[0]; note !== undefined && note.timeMs <= until; note = pending[0]) {
      pending.shift();
      const lane = clients.indexOf(note.clientId) + 1;
      if (lane === 0) continue;
      marks.push({ kind: 'note', lane, text: note.detail, y });
      y += rowHeight;
    }
  };
  for (const r of rows) {
    const p = r.packet;
    place(p.timeMs);
    if (lastTime !== null && p.timeMs - lastTime > GAP_MS) {
      marks.push({
        kind: 'gap',
        lane: 0,
        text: w('teach.later', { seconds: Math.round((p.timeMs - lastTime) / 1000) }),
        y: y - rowHeight / 3,
      });
      y += rowHeight / 2;
    }
    lastTime = p.timeMs;
    const lane = clients.indexOf(p.clientId) + 1;
    const seen = lastSeen.get(p.clientId);
    const ka = keepAlive.get(p.clientId);
    if (seen !== undefined && ka !== undefined && ka > 0 && p.timeMs - seen > ka * 1500) {
      marks.push({
        kind: 'silent',
        lane,
        text: w('teach.silent', { seconds: Math.round((p.timeMs - seen) / 1000), keepAlive: ka }),
        y: y - rowHeight / 3,
      });
      y += rowHeight / 2;
    }
    lastSeen.set(p.clientId, p.timeMs);
    if (p.kind === 'Connect') {
      const value = Number.parseInt(field(p, 'Keep Alive') ?? '', 10);
      if (Number.isFinite(value)) keepAlive.set(p.clientId, value);
    }
    const toBroker = session ? p.direction === 'Outbound' : p.direction === 'Inbound';
    arrows.push({
      serial: r.serial,
      row: p,
      from: toBroker ? lane : 0,
      to: toBroker ? 0 : lane,
      label: label(p, w),
      y,
    });
    y += rowHeight;
  }
  place(Number.POSITIVE_INFINITY);
  return {
    lanes: clients,
    arrows,
    marks,
    width: laneWidth * (clients.length + 1),
    height: y + rowHeight,
    laneX,
  };
}

/**
 * The rows of one message's journey: the PUBLISH `start` (inbound, from its publisher) with its
 * acknowledgements, and each PUBLISH of the same topic the broker sent out after it with theirs.
 */
export function journey(rows: SequenceRow[], start: SequenceRow, session: boolean): Set<number> {
  const picked = new Set<number>([start.serial]);
  const publisher = start.packet.clientId;
  const topic = start.packet.topic;
  const inbound = session ? 'Outbound' : 'Inbound';
  const acks = ['PubAck', 'PubRec', 'PubRel', 'PubComp'];
  // client -> the packet id of its leg, to pick its acknowledgements
  const legs = new Map<string, number | null>([[publisher, start.packet.packetId]]);
  for (const r of rows) {
    if (r.serial <= start.serial) continue;
    const p = r.packet;
    if (p.kind === 'Publish' && p.topic === topic && p.direction !== inbound && !legs.has(p.clientId)) {
      legs.set(p.clientId, p.packetId);
      picked.add(r.serial);
    } else if (acks.includes(p.kind) && legs.has(p.clientId) && p.packetId !== null) {
      if (legs.get(p.clientId) === p.packetId) picked.add(r.serial);
    }
  }
  return picked;
}

/** Escapes text for SVG/XML. */
export function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** The colour of a packet's arrow: publishes by QoS, acknowledgements, the rest. */
export function colour(row: PacketRow): string {
  if (row.kind === 'Publish') return ['#6b7280', '#2563eb', '#ea580c'][row.qos] ?? '#6b7280';
  if (['PubAck', 'PubRec', 'PubRel', 'PubComp'].includes(row.kind)) return '#0d9488';
  if (row.kind === 'Disconnect') return '#dc2626';
  return '#374151';
}

/** The diagram as a standalone SVG document (white background, for slides). */
export function toSvg(d: Diagram, brokerName: string): string {
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${d.width}" height="${d.height}" viewBox="0 0 ${d.width} ${d.height}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(
    `<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="context-stroke"/></marker></defs>`,
  );
  const names = [brokerName, ...d.lanes];
  names.forEach((name, lane) => {
    const x = d.laneX(lane);
    out.push(`<line x1="${x}" y1="40" x2="${x}" y2="${d.height - 10}" stroke="#9ca3af" stroke-dasharray="4 4"/>`);
    out.push(`<rect x="${x - 90}" y="8" width="180" height="28" rx="4" fill="${lane === 0 ? '#1e3a8a' : '#f3f4f6'}" stroke="#6b7280"/>`);
    out.push(
      `<text x="${x}" y="27" text-anchor="middle" fill="${lane === 0 ? '#ffffff' : '#111827'}">${xml(name.length > 26 ? `${name.slice(0, 25)}…` : name)}</text>`,
    );
  });
  for (const m of d.marks) {
    const x = m.kind === 'gap' ? d.width / 2 : d.laneX(m.lane);
    out.push(
      `<text x="${x}" y="${m.y}" text-anchor="middle" fill="${m.kind === 'note' ? '#dc2626' : '#6b7280'}" font-style="italic">${xml(m.text)}</text>`,
    );
  }
  for (const a of d.arrows) {
    const x1 = d.laneX(a.from);
    const x2 = d.laneX(a.to);
    const c = colour(a.row);
    out.push(`<line x1="${x1}" y1="${a.y}" x2="${x2}" y2="${a.y}" stroke="${c}" stroke-width="1.5" marker-end="url(#head)"/>`);
    out.push(`<text x="${(x1 + x2) / 2}" y="${a.y - 5}" text-anchor="middle" fill="${c}">${xml(a.label)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

/**
 * Text Mermaid reads as a participant's name or a message: no line breaks, and `;`, `#`, `:`,
 * `<` and `>` as Mermaid's entity codes (so no text is ever read as markup where it renders).
 */
function mermaidText(text: string): string {
  const codes: Record<string, string> = { '#': '#35;', ';': '#59;', ':': '#58;', '<': '#60;', '>': '#62;' };
  return text.replace(/[\r\n]+/g, ' ').replace(/[#;:<>]/g, (c) => codes[c] ?? c);
}

/** The diagram as a Mermaid `sequenceDiagram`. */
export function toMermaid(d: Diagram, brokerName: string): string {
  const lines = ['sequenceDiagram'];
  const names = [brokerName, ...d.lanes];
  names.forEach((name, lane) => lines.push(`  participant P${lane} as ${mermaidText(name)}`));
  const events: { y: number; line: string }[] = [];
  for (const a of d.arrows) {
    events.push({ y: a.y, line: `  P${a.from}->>P${a.to}: ${mermaidText(a.label)}` });
  }
  for (const m of d.marks) {
    const over = m.kind === 'gap' ? `P0,P${names.length - 1}` : `P${m.lane}`;
    events.push({ y: m.y, line: `  Note over ${over}: ${mermaidText(m.text)}` });
  }
  events.sort((a, b) => a.y - b.y);
  return [...lines, ...events.map((e) => e.line)].join('\n') + '\n';
}
