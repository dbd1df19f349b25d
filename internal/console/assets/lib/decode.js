// Record data decoding for the record browser: base64 (as the Kinesis API
// carries data) to bytes, and bytes to UTF-8, pretty JSON, hex or base64;
// KPL aggregated records (magic F3 89 9A C2, protobuf AggregatedRecord, MD5
// trailer) split into their user records.

export function fromBase64(s) {
  const bin = atob(s || '');
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  return b;
}

export function toBase64(b) {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

const utf8dec = new TextDecoder('utf-8', { fatal: true });

/** utf8 decodes bytes, or returns null when they are not UTF-8. */
export function utf8(b) {
  try { return utf8dec.decode(b); } catch { return null; }
}

export function hex(b, max = 4096) {
  const lines = [];
  const n = Math.min(b.length, max);
  for (let i = 0; i < n; i += 16) {
    const row = b.subarray(i, Math.min(i + 16, n));
    const hx = [...row].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const asc = [...row].map((x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : '.')).join('');
    lines.push(i.toString(16).padStart(6, '0') + '  ' + hx.padEnd(48) + ' ' + asc);
  }
  if (b.length > n) lines.push(`… ${b.length - n} more bytes`);
  return lines.join('\n');
}

/** show renders bytes in a mode: utf8, json, hex or base64. */
export function show(b, mode) {
  switch (mode) {
    case 'hex': return hex(b);
    case 'base64': return toBase64(b);
    case 'json': {
      const s = utf8(b);
      if (s === null) return hex(b);
      try { return JSON.stringify(JSON.parse(s), null, 2); } catch { return s; }
    }
    default: {
      const s = utf8(b);
      return s === null ? '(not UTF-8)\n' + hex(b) : s;
    }
  }
}

const KPL_MAGIC = [0xf3, 0x89, 0x9a, 0xc2];

/** isAggregated reports whether data is a KPL aggregated record. */
export function isAggregated(b) {
  return b.length > 4 + 16 && KPL_MAGIC.every((m, i) => b[i] === m);
}

// A protobuf reader: varints and length-delimited fields, enough for
// AggregatedRecord { repeated string partition_key_table = 1;
// repeated string explicit_hash_key_table = 2; repeated Record records = 3 }
// and Record { uint64 partition_key_index = 1; uint64 explicit_hash_key_index = 2;
// bytes data = 3; repeated Tag tags = 4 }.
function fields(b) {
  const out = [];
  let i = 0;
  const varint = () => {
    let v = 0n, shift = 0n;
    for (;;) {
      if (i >= b.length) throw new Error('truncated varint');
      const x = b[i++];
      v |= BigInt(x & 0x7f) << shift;
      if (!(x & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < b.length) {
    const key = Number(varint());
    const num = key >> 3, wt = key & 7;
    if (wt === 0) out.push({ num, v: varint() });
    else if (wt === 2) {
      const n = Number(varint());
      if (i + n > b.length) throw new Error('truncated field');
      out.push({ num, b: b.subarray(i, i + n) });
      i += n;
    } else if (wt === 1) i += 8;
    else if (wt === 5) i += 4;
    else throw new Error('bad wire type ' + wt);
  }
  return out;
}

/** deaggregate returns the user records [{partitionKey, explicitHashKey, data}] of a KPL aggregated record. */
export function deaggregate(b) {
  const body = b.subarray(4, b.length - 16);
  const text = new TextDecoder();
  const pks = [], ehks = [], recs = [];
  for (const f of fields(body)) {
    if (f.num === 1 && f.b) pks.push(text.decode(f.b));
    else if (f.num === 2 && f.b) ehks.push(text.decode(f.b));
    else if (f.num === 3 && f.b) {
      const r = { partitionKey: '', explicitHashKey: '', data: new Uint8Array() };
      for (const g of fields(f.b)) {
        if (g.num === 1 && g.v !== undefined) r.pk = Number(g.v);
        else if (g.num === 2 && g.v !== undefined) r.ehk = Number(g.v);
        else if (g.num === 3 && g.b) r.data = g.b;
      }
      recs.push(r);
    }
  }
  return recs.map((r) => ({ partitionKey: pks[r.pk] ?? '', explicitHashKey: r.ehk === undefined ? '' : ehks[r.ehk] ?? '', data: r.data }));
}
