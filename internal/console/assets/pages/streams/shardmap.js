// The shard map: every shard of a stream (open and closed, as ListShards
// returns them) drawn over the 128-bit hash key space, one row per
// generation, with lines from parents to children; and the lineage table.

const MAX = (1n << 128n) - 1n;
const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...kids);
  return el;
}

/** frac is a hash key's position in [0, 1]. */
export const frac = (k) => Number((BigInt(k) * 1000000n) / MAX) / 1000000;

export const isOpen = (sh) => !sh.SequenceNumberRange?.EndingSequenceNumber;

/** short is the shard id's number, without leading zeros. */
export const short = (id) => id.replace(/^shardId-0*/, '') || '0';

/** generations assigns each shard its depth in the lineage. */
export function generations(shards) {
  const byId = new Map(shards.map((x) => [x.ShardId, x]));
  const memo = new Map();
  const depth = (id, seen = new Set()) => {
    if (memo.has(id)) return memo.get(id);
    const x = byId.get(id);
    if (!x || seen.has(id)) return -1;
    seen.add(id);
    const d = Math.max(depth(x.ParentShardId, seen), depth(x.AdjacentParentShardId, seen)) + 1;
    memo.set(id, d);
    return d;
  };
  shards.forEach((x) => depth(x.ShardId));
  return memo;
}

/** children maps a shard id to the ids of the shards made from it. */
export function children(shards) {
  const m = new Map();
  for (const x of shards) {
    for (const p of [x.ParentShardId, x.AdjacentParentShardId]) {
      if (!p) continue;
      if (!m.has(p)) m.set(p, []);
      m.get(p).push(x.ShardId);
    }
  }
  return m;
}

/** draw returns the SVG shard map. */
export function draw(shards, { selected } = {}) {
  const gen = generations(shards);
  const rows = Math.max(0, ...gen.values()) + 1;
  const W = 1000, RH = 34, GAP = 26, TOP = 16;
  const H = TOP + rows * (RH + GAP);
  const pos = new Map();
  const g = s('g');
  const lines = s('g');
  for (const x of shards) {
    const a = frac(x.HashKeyRange.StartingHashKey), b = frac(x.HashKeyRange.EndingHashKey);
    const d = gen.get(x.ShardId);
    const X = a * W, w = Math.max(2, (b - a) * W), Y = TOP + d * (RH + GAP);
    pos.set(x.ShardId, { cx: X + w / 2, top: Y, bottom: Y + RH });
    const cls = (isOpen(x) ? 'open' : 'closed') + (x.ShardId === selected ? ' sel' : '');
    const label = `${x.ShardId} ${isOpen(x) ? 'open' : 'closed'}, hash keys ${(a * 100).toFixed(1)}%–${(b * 100).toFixed(1)}%`;
    g.append(s('rect', { class: cls, x: X + 1, y: Y, width: w - 2, height: RH, rx: 4, 'data-shard': x.ShardId }, s('title', {}, label)));
    if (w > 28) g.append(s('text', { x: X + w / 2, y: Y + RH / 2 + 4, 'text-anchor': 'middle' }, short(x.ShardId)));
  }
  for (const x of shards) {
    for (const p of [x.ParentShardId, x.AdjacentParentShardId]) {
      const from = pos.get(p), to = pos.get(x.ShardId);
      if (from && to) lines.append(s('line', { class: 'lineage', x1: from.cx, y1: from.bottom, x2: to.cx, y2: to.top }));
    }
  }
  const axis = s('g', {},
    s('text', { x: 2, y: 11 }, '0'), s('text', { x: W / 2, y: 11, 'text-anchor': 'middle' }, '2¹²⁷'),
    s('text', { x: W - 2, y: 11, 'text-anchor': 'end' }, '2¹²⁸−1'));
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', id: 'shardmap-svg',
    'aria-label': `Shard map: ${shards.filter(isOpen).length} open and ${shards.filter((x) => !isOpen(x)).length} closed shards over the hash key space, parents above their children` },
  axis, lines, g);
}
