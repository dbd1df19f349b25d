package loadtest

import (
	"testing"
)

func TestBitset(t *testing.T) {
	var b bitset
	for _, i := range []uint64{0, 63, 64, 1000, 100_000} {
		if b.has(i) {
			t.Fatalf("has(%d) before set", i)
		}
		if b.set(i) {
			t.Fatalf("set(%d) reported a duplicate", i)
		}
		if !b.set(i) {
			t.Fatalf("second set(%d) did not report a duplicate", i)
		}
		if !b.has(i) {
			t.Fatalf("has(%d) after set", i)
		}
	}
	if b.has(65) || b.has(1<<40) {
		t.Fatal("has reports a member never set")
	}
	if n := b.count(); n != 5 {
		t.Fatalf("count = %d, want 5", n)
	}
	var c bitset
	c.set(63)
	c.set(5) // in c only
	if n := andNotCount(&b, &c); n != 4 {
		t.Fatalf("|b \\ c| = %d, want 4", n)
	}
	if n := andNotCount(&c, &b); n != 1 {
		t.Fatalf("|c \\ b| = %d, want 1", n)
	}
	var empty bitset
	if n := andNotCount(&b, &empty); n != 5 {
		t.Fatalf("|b \\ {}| = %d, want 5", n)
	}
}

func TestTrackerAccounting(t *testing.T) {
	const tag = 0xfeed
	tr := newTracker(tag, 2)
	acked := []*bitset{{}, {}}
	for i := range uint64(100) {
		acked[0].set(i)
		if i != 50 { // producer 1's record 50 failed
			acked[1].set(i)
		}
	}
	h := func(p uint16, c uint64) header { return header{producer: p, counter: c, tag: tag} }
	var batch []header
	for i := range uint64(100) {
		if i == 7 || i == 8 {
			continue // producer 0's records 7 and 8 are lost
		}
		batch = append(batch, h(0, i))
	}
	tr.markSeen(batch)
	batch = batch[:0]
	for i := range uint64(100) {
		batch = append(batch, h(1, i)) // including 50, which was never acknowledged
	}
	batch = append(batch, h(1, 3), h(1, 3), h(0, 9)) // three duplicates
	batch = append(batch, header{producer: 0, counter: 1, tag: tag + 1}, h(2, 0))
	tr.markSeen(batch)
	tr.markForeign(1)

	if m := tr.missing(acked); m != 2 {
		t.Fatalf("missing = %d, want 2", m)
	}
	got := tr.account(acked)
	want := accounting{Lost: 2, Duplicated: 3, UnackedDelivered: 1, Foreign: 3, Unique: 198}
	if got != want {
		t.Fatalf("accounting = %+v, want %+v", got, want)
	}
	tr.markSeen([]header{h(0, 7), h(0, 8)})
	if m := tr.missing(acked); m != 0 {
		t.Fatalf("missing after late delivery = %d, want 0", m)
	}
}

func TestLimiterSpreadsRequests(t *testing.T) {
	l := newLimiter(1000) // 1 ms per record
	t0 := testTime
	if at := l.reserve(t0, 10); !at.Equal(t0) {
		t.Fatalf("first request at %v, want now", at.Sub(t0))
	}
	// A second producer asking at the same time waits for the first
	// request's 10 records' worth of time.
	if at := l.reserve(t0, 10); at.Sub(t0) != 10*msec {
		t.Fatalf("second request at +%v, want +10ms", at.Sub(t0))
	}
	if at := l.reserve(t0.Add(5*msec), 1); at.Sub(t0) != 20*msec {
		t.Fatalf("third request at +%v, want +20ms", at.Sub(t0))
	}
	// After an idle second, no burst: the next request starts now and the
	// one after it a record later.
	later := t0.Add(sec)
	if at := l.reserve(later, 1); !at.Equal(later) {
		t.Fatalf("after idle: at +%v, want now", at.Sub(later))
	}
	if at := l.reserve(later, 1); at.Sub(later) != msec {
		t.Fatalf("after idle, second: at +%v, want +1ms", at.Sub(later))
	}
}
