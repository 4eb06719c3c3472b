// Which branches the user opened or closed, per source, kept across restarts (localStorage):
// when a remembered topic shows again in the other state, the tree puts it back. Only the
// user's own clicks are kept (not what a small tree opened by itself), at most 500 topics per
// source, the latest first; "expand all" and "collapse all" start afresh.
import { sourceKey, type SourceId, type TreeRow } from '../platform';

const LIMIT = 500;

export class RememberedBranches {
  private readonly key: string;
  private readonly states: Map<string, boolean>;
  /** Nodes already put back in this viewer (asked once each). */
  private readonly asked = new Set<string>();

  constructor(source: SourceId) {
    this.key = `expanded:${sourceKey(source)}`;
    this.states = new Map(read(this.key));
  }

  /** The user opened (`true`) or closed a branch. */
  remember(topic: string, expanded: boolean): void {
    this.states.delete(topic);
    this.states.set(topic, expanded);
    while (this.states.size > LIMIT) {
      const oldest = this.states.keys().next().value;
      if (oldest === undefined) break;
      this.states.delete(oldest);
    }
    this.save();
  }

  /** Forgets every branch (after expand all or collapse all). */
  forget(): void {
    this.states.clear();
    this.save();
  }

  /** The rows on screen whose state differs from what the user last chose for them. */
  corrections(viewer: number, rows: TreeRow[]): { id: number; expanded: boolean }[] {
    const out: { id: number; expanded: boolean }[] = [];
    for (const row of rows) {
      if (!row.hasChildren) continue;
      const wanted = this.states.get(row.topic);
      const key = `${viewer}:${row.id}`;
      if (wanted === undefined || wanted === row.expanded || this.asked.has(key)) continue;
      this.asked.add(key);
      out.push({ id: row.id, expanded: wanted });
    }
    return out;
  }

  private save(): void {
    try {
      globalThis.localStorage?.setItem(this.key, JSON.stringify([...this.states]));
    } catch {
      // not remembered; the tree still works
    }
  }
}

function read(key: string): [string, boolean][] {
  try {
    const value: unknown = JSON.parse(globalThis.localStorage?.getItem(key) ?? '[]');
    if (!Array.isArray(value)) return [];
    return value
      .filter(
        (e): e is [string, boolean] =>
          Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'boolean',
      )
      .slice(-LIMIT);
  } catch {
    return [];
  }
}
