package loadtest

import (
	"encoding/base64"
	"encoding/binary"
	"math/bits"
	"sync"
)

// Record header layout, the first headerSize bytes of every payload
// (big-endian; see the package comment).
const (
	headerSize = 24
	// headerB64 is the length of the header's base64: 24 bytes are eight
	// 3-byte groups, so they encode to exactly 32 characters with no padding
	// and without touching the encoding of the bytes that follow.
	headerB64   = 32
	counterBits = 48
	counterMask = 1<<counterBits - 1
	// maxProducers is the number of distinct producer ids (u16).
	maxProducers = 1 << 16
)

// header is the decoded record header.
type header struct {
	producer uint16
	counter  uint64 // u48
	sent     int64  // unix nanoseconds
	tag      uint64 // the run tag
}

// id returns the record's unique id: producer<<48 | counter.
func (h header) id() uint64 { return uint64(h.producer)<<counterBits | h.counter&counterMask }

// put writes h into b[:headerSize].
func (h header) put(b []byte) {
	_ = b[headerSize-1]
	binary.BigEndian.PutUint64(b[0:], h.id())
	binary.BigEndian.PutUint64(b[8:], uint64(h.sent))
	binary.BigEndian.PutUint64(b[16:], h.tag)
}

// putBase64 writes the base64 of h into b[:headerB64], patching a record's
// pre-encoded Data in place.
func (h header) putBase64(b []byte) {
	var raw [headerSize]byte
	h.put(raw[:])
	base64.StdEncoding.Encode(b[:headerB64], raw[:])
}

// parseHeader decodes a header from the first headerSize bytes of p.
func parseHeader(p []byte) (header, bool) {
	if len(p) < headerSize {
		return header{}, false
	}
	id := binary.BigEndian.Uint64(p[0:])
	return header{
		producer: uint16(id >> counterBits),
		counter:  id & counterMask,
		sent:     int64(binary.BigEndian.Uint64(p[8:])),
		tag:      binary.BigEndian.Uint64(p[16:]),
	}, true
}

// parseHeaderBase64 decodes a header from the first headerB64 characters of
// a record's base64 Data, without decoding the rest.
func parseHeaderBase64(s string) (header, bool) {
	if len(s) < headerB64 {
		return header{}, false
	}
	var raw [headerSize]byte
	if n, err := base64.StdEncoding.Decode(raw[:], []byte(s[:headerB64])); err != nil || n != headerSize {
		return header{}, false
	}
	return parseHeader(raw[:])
}

// bitset is a growable set of record counters.
type bitset struct {
	w []uint64
}

// set adds i and reports whether it was already present.
func (b *bitset) set(i uint64) (was bool) {
	wi := int(i / 64)
	if wi >= len(b.w) {
		n := max(wi+1, 2*len(b.w))
		w := make([]uint64, n)
		copy(w, b.w)
		b.w = w
	}
	m := uint64(1) << (i % 64)
	was = b.w[wi]&m != 0
	b.w[wi] |= m
	return was
}

// has reports whether i is present.
func (b *bitset) has(i uint64) bool {
	wi := int(i / 64)
	return wi < len(b.w) && b.w[wi]&(1<<(i%64)) != 0
}

// count returns the number of members.
func (b *bitset) count() uint64 {
	var n int
	for _, w := range b.w {
		n += bits.OnesCount64(w)
	}
	return uint64(n)
}

// andNotCount returns |a \ b|: members of a missing from b.
func andNotCount(a, b *bitset) uint64 {
	var n int
	for i, w := range a.w {
		if i < len(b.w) {
			w &^= b.w[i]
		}
		n += bits.OnesCount64(w)
	}
	return uint64(n)
}

// tracker records which ids the consumers have seen, per producer, and counts
// duplicates. Consumers call markSeen concurrently; acknowledged ids are kept
// by each producer in its own bitset and compared after the producers stop.
type tracker struct {
	tag uint64 // the run tag; records carrying another are foreign

	mu      sync.Mutex
	seen    []bitset // by producer id
	unique  uint64   // distinct ids seen
	dups    uint64   // deliveries of an id already seen
	foreign uint64   // records not from this run (other tag, unknown producer, short)
}

func newTracker(tag uint64, producers int) *tracker {
	return &tracker{tag: tag, seen: make([]bitset, producers)}
}

// markSeen records delivered headers (one GetRecords response).
func (t *tracker) markSeen(hs []header) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range hs {
		if h.tag != t.tag || int(h.producer) >= len(t.seen) {
			t.foreign++
			continue
		}
		if t.seen[h.producer].set(h.counter) {
			t.dups++
		} else {
			t.unique++
		}
	}
}

// markForeign counts records that carry no header of this run.
func (t *tracker) markForeign(n int) {
	t.mu.Lock()
	t.foreign += uint64(n)
	t.mu.Unlock()
}

// accounting is the outcome of comparing acknowledged and seen ids.
type accounting struct {
	Lost             uint64 // acknowledged, never seen
	Duplicated       uint64 // deliveries beyond the first of an id
	UnackedDelivered uint64 // seen but never acknowledged (failed or unanswered puts)
	Foreign          uint64 // records not written by this run
	Unique           uint64 // distinct ids seen
}

// account compares the producers' acknowledged sets (indexed by producer id,
// no longer being written) with what was seen.
func (t *tracker) account(acked []*bitset) accounting {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := accounting{Duplicated: t.dups, Foreign: t.foreign, Unique: t.unique}
	for p, ack := range acked {
		a.Lost += andNotCount(ack, &t.seen[p])
		a.UnackedDelivered += andNotCount(&t.seen[p], ack)
	}
	return a
}

// missing returns how many acknowledged ids have not been seen yet.
func (t *tracker) missing(acked []*bitset) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n uint64
	for p, ack := range acked {
		n += andNotCount(ack, &t.seen[p])
	}
	return n
}
