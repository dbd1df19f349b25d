package metastore

import (
	"context"
	"sort"
	"strings"
	"sync"
)

// history is the embedded store's bounded in-memory record of committed
// changes, the source of Watch: an in-process broadcast, not persisted.
// Watchers read it under mu and wait on notify, which publish closes and
// replaces; no watcher has a buffer of its own, so a slow one costs nothing
// until it falls out of the window and gets ErrCompacted.
type history struct {
	mu sync.Mutex
	// events holds every change at revisions ≥ start, ascending. Elements
	// are never modified once appended.
	events   []Event
	bytes    int    // keys and values held in events
	start    uint64 // the oldest revision watchers can still ask for
	rev      uint64 // the last revision published (or the store's at open)
	notify   chan struct{}
	closed   bool
	maxRevs  int
	maxBytes int
}

func (h *history) init(rev uint64, maxRevs, maxBytes int) {
	h.rev, h.start = rev, rev+1
	h.maxRevs, h.maxBytes = maxRevs, maxBytes
	h.notify = make(chan struct{})
}

func eventBytes(ev Event) int {
	n := 0
	for _, c := range ev.Changes {
		n += len(c.Key) + len(c.Value)
	}
	return n
}

// publish records a committed revision and wakes the watchers. Revisions
// arrive in order (Store.wmu).
func (h *history) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rev = ev.Rev
	if len(ev.Changes) > 0 {
		h.events = append(h.events, ev)
		h.bytes += eventBytes(ev)
		for len(h.events) > h.maxRevs || len(h.events) > 1 && h.bytes > h.maxBytes {
			h.compactLocked(h.events[0].Rev + 1)
		}
	}
	if !h.closed {
		close(h.notify)
		h.notify = make(chan struct{})
	}
}

// compactLocked forgets the changes at revisions below rev.
func (h *history) compactLocked(rev uint64) {
	if rev <= h.start {
		return
	}
	i := sort.Search(len(h.events), func(i int) bool { return h.events[i].Rev >= rev })
	for _, ev := range h.events[:i] {
		h.bytes -= eventBytes(ev)
	}
	h.events = append([]Event(nil), h.events[i:]...)
	h.start = rev
}

func (h *history) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.notify)
	}
}

// Compact forgets the watch history below rev (capped at the current
// revision + 1): watchers asking for older revisions get ErrCompacted. The
// stored keys are unaffected (the store keeps one version per key).
func (s *Store) Compact(_ context.Context, rev uint64) error {
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	h.compactLocked(min(rev, h.rev+1))
	return nil
}

// Watch implements KV.Watch from the in-memory history: it can resume from
// any revision committed since Open that the history's bounds
// (Options.WatchHistory, WatchHistoryBytes) still hold.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev uint64, fn func(Event) error) error {
	h := &s.hist
	h.mu.Lock()
	if fromRev == 0 {
		fromRev = h.rev + 1
	}
	h.mu.Unlock()
	next := fromRev
	var batch []Event
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return ErrClosed
		}
		if next < h.start {
			err := &CompactedError{Want: next, Compacted: h.start - 1}
			h.mu.Unlock()
			return err
		}
		batch = batch[:0]
		i := sort.Search(len(h.events), func(i int) bool { return h.events[i].Rev >= next })
		for _, ev := range h.events[i:] {
			if m := matching(ev, prefix); len(m.Changes) > 0 {
				batch = append(batch, m)
			}
		}
		if h.rev+1 > next {
			next = h.rev + 1
		}
		wait := h.notify
		h.mu.Unlock()
		for _, ev := range batch {
			if err := fn(ev); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait:
		}
	}
}

// matching returns ev restricted to keys with the prefix.
func matching(ev Event, prefix string) Event {
	if prefix == "" {
		return ev
	}
	// Changes are in key order: the prefix's keys are one run.
	i := sort.Search(len(ev.Changes), func(i int) bool { return ev.Changes[i].Key >= prefix })
	j := i
	for j < len(ev.Changes) && strings.HasPrefix(ev.Changes[j].Key, prefix) {
		j++
	}
	return Event{Rev: ev.Rev, Changes: ev.Changes[i:j:j]}
}
