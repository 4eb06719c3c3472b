import { beforeEach, describe, expect, it } from 'vitest';
import { RememberedBranches } from './remembered';
import { brokerSource, sessionSource, type TreeRow } from '../platform';

const row = (id: number, topic: string, expanded: boolean): TreeRow =>
  ({ id, topic, expanded, hasChildren: true }) as TreeRow;

describe('remembered branches', () => {
  beforeEach(() => localStorage.clear());

  it('puts back what the user chose, after a restart, once per node', () => {
    const first = new RememberedBranches(brokerSource);
    first.remember('plant', false);
    first.remember('home', true);
    // A restart: a new page reads what was kept.
    const again = new RememberedBranches(brokerSource);
    const rows = [row(1, 'plant', true), row(2, 'home', false), row(3, 'garage', true)];
    expect(again.corrections(7, rows)).toEqual([
      { id: 1, expanded: false },
      { id: 2, expanded: true },
    ]);
    // Asked once: the same frame again asks nothing (the backend's answer is on its way).
    expect(again.corrections(7, rows)).toEqual([]);
  });

  it('keeps sources apart, forgets on request, and survives a broken entry', () => {
    new RememberedBranches(brokerSource).remember('plant', false);
    const session = new RememberedBranches(sessionSource('s1'));
    expect(session.corrections(1, [row(1, 'plant', true)])).toEqual([]);
    const broker = new RememberedBranches(brokerSource);
    broker.forget();
    expect(new RememberedBranches(brokerSource).corrections(1, [row(1, 'plant', true)])).toEqual([]);
    localStorage.setItem('expanded:broker', '{not json');
    expect(new RememberedBranches(brokerSource).corrections(1, [row(1, 'plant', true)])).toEqual([]);
  });

  it('keeps at most 500 topics, the latest', () => {
    const many = new RememberedBranches(brokerSource);
    for (let i = 0; i < 600; i++) many.remember(`t/${i}`, false);
    const again = new RememberedBranches(brokerSource);
    expect(again.corrections(1, [row(1, 't/0', true)])).toEqual([]);
    expect(again.corrections(1, [row(2, 't/599', true)])).toEqual([{ id: 2, expanded: false }]);
  });
});
