package awsproto

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// budgetWait is how long a call waits for room in the budget before it is
// answered with a retryable ServiceUnavailable.
const budgetWait = 5 * time.Second

// Budget bounds the memory callers can make the server hold: the request
// body bytes actually received and the responses being written. It is
// shared by every call and split into shares: one principal (the access key
// of a signed call, the remote IP without verification) holds at most its
// share, so that one caller cannot take the whole budget from the others.
//
// Each call draws on the budget through one Hold, which grows as its body
// arrives (never by what a header announces) and shrinks or grows again to
// the size of its response. Waiting for room is bounded (5 s); a call that
// gets none is refused with a retryable error.
type Budget struct {
	max   int64 // the whole budget
	share int64 // what one principal may hold
	all   *semaphore.Weighted

	mu   sync.Mutex
	keys map[string]*keyBudget // guarded by mu; an entry lives while a Hold on its key is open
}

// keyBudget is one principal's share. holds is guarded by Budget.mu.
type keyBudget struct {
	sem   *semaphore.Weighted
	holds int
}

// NewBudget returns a budget of max bytes (default 256 MiB when max ≤ 0)
// in which one principal may hold share bytes (default a quarter of max
// when share ≤ 0; at most max).
func NewBudget(max, share int64) *Budget {
	if max <= 0 {
		max = 256 << 20
	}
	if share <= 0 {
		share = max / 4
	}
	share = min(share, max)
	return &Budget{max: max, share: share, all: semaphore.NewWeighted(max), keys: map[string]*keyBudget{}}
}

// Max is the whole budget in bytes.
func (b *Budget) Max() int64 { return b.max }

// Share is what one principal may hold, in bytes.
func (b *Budget) Share() int64 { return b.share }

// Open starts a hold, empty, on the share of principal key. Close it when
// the call is answered.
func (b *Budget) Open(key string) *Hold {
	b.mu.Lock()
	kb := b.keys[key]
	if kb == nil {
		kb = &keyBudget{sem: semaphore.NewWeighted(b.share)}
		b.keys[key] = kb
	}
	kb.holds++
	b.mu.Unlock()
	return &Hold{b: b, key: key, kb: kb}
}

// Hold is one call's part of a Budget. It is used by the goroutine serving
// the call only.
//
// A hold larger than the whole share (or budget) takes all of it and runs
// alone: inKey and inAll never exceed the semaphores' sizes, so a call
// whose cap is above a small configured budget still runs.
type Hold struct {
	b     *Budget
	key   string
	kb    *keyBudget
	n     int64           // bytes held
	resp  int64           // of n, the part counted for the call's answer
	stop  <-chan struct{} // when closed (server shutdown), waits for room end at once
	inKey int64           // taken from the principal's share: min(n, share)
	inAll int64           // taken from the whole budget: min(n, max)
}

// Held is the number of bytes held.
func (h *Hold) Held() int64 { return h.n }

// Principal is the key of the share the hold draws on.
func (h *Hold) Principal() string { return h.key }

// Grow adds n bytes, waiting up to 5 s (or until ctx ends, or the server
// shuts down) for room in the principal's share and then in the whole
// budget. It reports false, holding what it held before, when there was
// none.
func (h *Hold) Grow(ctx context.Context, n int64) bool {
	if n <= 0 || h.TryGrow(n) { // the common case: room, no timer
		return true
	}
	k, a := h.more(n)
	ctx, cancel := context.WithTimeout(ctx, budgetWait)
	defer cancel()
	if h.stop != nil {
		// A shutdown must not wait for calls waiting for room.
		go func() {
			select {
			case <-h.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	if k > 0 && h.kb.sem.Acquire(ctx, k) != nil {
		return false
	}
	if a > 0 && h.b.all.Acquire(ctx, a) != nil {
		h.kb.sem.Release(k)
		return false
	}
	h.n, h.inKey, h.inAll = h.n+n, h.inKey+k, h.inAll+a
	return true
}

// TryGrow adds n bytes if there is room now, without waiting.
func (h *Hold) TryGrow(n int64) bool {
	if n <= 0 {
		return true
	}
	k, a := h.more(n)
	if k > 0 && !h.kb.sem.TryAcquire(k) {
		return false
	}
	if a > 0 && !h.b.all.TryAcquire(a) {
		h.kb.sem.Release(k)
		return false
	}
	h.n, h.inKey, h.inAll = h.n+n, h.inKey+k, h.inAll+a
	return true
}

// ReserveResponse takes n bytes for the call's answer before it is
// computed (the largest answer its operation gives), waiting like Grow; the
// part is settled to the answer's size when it is written (Env.WriteBody).
func (h *Hold) ReserveResponse(ctx context.Context, n int64) bool {
	if !h.Grow(ctx, n) {
		return false
	}
	h.resp += n
	return true
}

// settleResponse makes the answer's part n bytes: what was reserved beyond
// it is given back; more is taken only if there is room now.
func (h *Hold) settleResponse(n int64) {
	switch {
	case n < h.resp:
		h.Shrink(h.resp - n)
	case n > h.resp:
		if !h.TryGrow(n - h.resp) {
			return
		}
	}
	h.resp = n
}

// more is what growing by n takes from the share and from the whole budget.
func (h *Hold) more(n int64) (key, all int64) {
	return min(h.n+n, h.b.share) - h.inKey, min(h.n+n, h.b.max) - h.inAll
}

// Shrink gives back n bytes (at most what is held).
func (h *Hold) Shrink(n int64) {
	n = min(max(n, 0), h.n)
	h.n -= n
	if k := h.inKey - min(h.n, h.b.share); k > 0 {
		h.kb.sem.Release(k)
		h.inKey -= k
	}
	if a := h.inAll - min(h.n, h.b.max); a > 0 {
		h.b.all.Release(a)
		h.inAll -= a
	}
}

// Close gives everything back and ends the hold. It is safe to call more
// than once.
func (h *Hold) Close() {
	if h.kb == nil {
		return
	}
	h.Shrink(h.n)
	h.b.mu.Lock()
	if h.kb.holds--; h.kb.holds == 0 {
		delete(h.b.keys, h.key)
	}
	h.b.mu.Unlock()
	h.kb = nil
}

// principals is the number of principals holding (tests).
func (b *Budget) principals() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.keys)
}
