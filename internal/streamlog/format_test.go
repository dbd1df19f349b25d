package streamlog

import (
	"bytes"
	"math"
	"testing"
)

// TestFrameRoundTrip encodes frames with the encoding helpers, parses them
// back with parseFrame and decodeSection, and checks that every field
// survives; it also re-encodes each frame the real writer produced from its
// parsed sections and expects the very same bytes, so the writer, the
// compactor and the recovery probe share one encoding.
func TestFrameRoundTrip(t *testing.T) {
	type rec struct {
		key   string
		data  []byte
		flags uint8
	}
	shards := []struct {
		shard uint64
		seq   uint64
		ts    int64
		recs  []rec
	}{
		{0, 1, 1_700_000_000_000, []rec{{"a", []byte("hello"), 0}, {"", nil, FlagEncrypted}}},
		{math.MaxUint64, 1 << 48, 5, []rec{{string(bytes.Repeat([]byte("k"), math.MaxUint16)), bytes.Repeat([]byte{0xff}, 1000), 0xff}}},
		{7, 42, -1, []rec{{"x", []byte("RHSF"), 0}, {"y", []byte{}, 2}, {"z", []byte("zz"), 0}}},
	}
	const fence = 0xfeedfacecafe
	buf := appendFrameHeader(nil)
	for _, s := range shards {
		start := len(buf)
		buf = appendSectionHeader(buf)
		for i, r := range s.recs {
			buf = appendRecord(buf, s.seq+uint64(i), s.ts, r.flags, r.key, r.data)
		}
		encodeSectionHeader(buf[start:], s.shard, len(s.recs))
	}
	encodeFrameHeader(buf, fence, len(shards))

	const base = 1000
	n, gotFence, secs, err := parseFrame(buf, base)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(buf) || gotFence != fence || len(secs) != len(shards) {
		t.Fatalf("parseFrame: length %d fence %#x %d sections; want %d %#x %d", n, gotFence, len(secs), len(buf), fence, len(shards))
	}
	var copies [][]byte
	for i, si := range secs {
		s := shards[i]
		if si.shard != s.shard || si.count != uint32(len(s.recs)) || si.firstSeq != s.seq || si.lastSeq != s.seq+uint64(len(s.recs))-1 || si.firstTs != s.ts || si.lastTs != s.ts {
			t.Fatalf("section %d: %+v", i, si)
		}
		sec := buf[si.off-base : si.off-base+si.length]
		var nb int
		recs, _ := decodeSection(sec, 0, math.MinInt64, nil, math.MaxInt, math.MaxInt, &nb)
		for j, r := range recs {
			w := s.recs[j]
			if r.Seq != s.seq+uint64(j) || r.Timestamp != s.ts || r.Flags != w.flags || r.PartitionKey != w.key || !bytes.Equal(r.Data, w.data) {
				t.Fatalf("section %d record %d: %+v", i, j, r)
			}
		}
		copies = append(copies, sec)
	}
	// Sections copied verbatim into a new frame (what compaction does) give
	// the same frame.
	if again := encodeFrame(fence, copies...); !bytes.Equal(again, buf) {
		t.Fatal("encodeFrame of the parsed sections differs from the original frame")
	}
	// Dropping a section still gives a valid frame.
	if _, _, secs, err := parseFrame(encodeFrame(fence, copies[0], copies[2]), 0); err != nil || len(secs) != 2 || secs[1].shard != 7 {
		t.Fatalf("frame without its middle section: %v %+v", err, secs)
	}
	// The empty frame (the recovery probe) is valid and holds nothing.
	if n, _, secs, err := parseFrame(encodeFrame(fence), 0); err != nil || n != frameHeaderLen || len(secs) != 0 {
		t.Fatalf("empty frame: %d %v %v", n, secs, err)
	}

	// The writer's frames are exactly what the helpers encode.
	seg := seedSegment(t)
	for _, fr := range splitFrames(t, seg) {
		_, fence, secs, err := parseFrame(fr, 0)
		if err != nil {
			t.Fatal(err)
		}
		var parts [][]byte
		for _, si := range secs {
			parts = append(parts, fr[si.off:si.off+si.length])
		}
		if !bytes.Equal(encodeFrame(fence, parts...), fr) {
			t.Fatal("a frame the writer produced differs from encodeFrame of its sections")
		}
	}
}
