// Package quota owns rate limiting: token buckets with an injected clock,
// keyed by anything comparable, with bounded memory (idle buckets are
// forgotten). It knows nothing of streams or AWS; callers map keys and
// limits to their domain. It imports only the standard library.
package quota

import (
	"sync"
	"time"
)

// Bucket is a token bucket refilled continuously at Rate tokens per second,
// holding at most Burst tokens. A bucket starts full.
type Bucket struct {
	Rate, Burst float64
	tokens      float64
	last        time.Time
}

// take removes n tokens if available at now.
func (b *Bucket) take(now time.Time, n float64) bool {
	if b.last.IsZero() {
		b.tokens = b.Burst
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.Burst, b.tokens+dt*b.Rate)
	}
	b.last = now
	if b.tokens >= n {
		b.tokens -= n
		return true
	}
	return false
}

// full reports whether the bucket has refilled completely (so forgetting it
// changes nothing).
func (b *Bucket) full(now time.Time) bool {
	return b.tokens+now.Sub(b.last).Seconds()*b.Rate >= b.Burst
}

// Limit is a pair of rates enforced together: units (records, calls) and
// bytes per second. A zero rate is unlimited.
type Limit struct {
	PerSecond      float64
	BytesPerSecond float64
}

type pair struct{ units, bytes Bucket }

// Set holds one pair of buckets per key. It is safe for concurrent use.
type Set[K comparable] struct {
	now func() time.Time

	mu    sync.Mutex
	pairs map[K]*pair
	sweep time.Time
}

// NewSet returns an empty set using the clock now (time.Now if nil).
func NewSet[K comparable](now func() time.Time) *Set[K] {
	if now == nil {
		now = time.Now
	}
	return &Set[K]{now: now, pairs: map[K]*pair{}}
}

// Allow takes units and bytes from key's buckets under limit; it takes
// nothing and returns false when either would go below zero.
func (s *Set[K]) Allow(key K, limit Limit, units, bytes float64) bool {
	if limit.PerSecond == 0 && limit.BytesPerSecond == 0 {
		return true
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pairs[key]
	if p == nil {
		p = &pair{units: Bucket{Rate: limit.PerSecond, Burst: limit.PerSecond}, bytes: Bucket{Rate: limit.BytesPerSecond, Burst: limit.BytesPerSecond}}
		s.pairs[key] = p
	}
	p.units.Rate, p.units.Burst = limit.PerSecond, limit.PerSecond
	p.bytes.Rate, p.bytes.Burst = limit.BytesPerSecond, limit.BytesPerSecond
	// Check both before taking from either.
	u, b := p.units, p.bytes
	okU := limit.PerSecond == 0 || u.take(now, units)
	okB := limit.BytesPerSecond == 0 || b.take(now, bytes)
	if okU && okB {
		p.units, p.bytes = u, b
	} else {
		// Refill bookkeeping only.
		p.units.take(now, 0)
		p.bytes.take(now, 0)
	}
	if now.Sub(s.sweep) > time.Minute {
		s.sweep = now
		for k, q := range s.pairs {
			if q.units.full(now) && q.bytes.full(now) {
				delete(s.pairs, k)
			}
		}
	}
	return okU && okB
}

// Len returns the number of buckets held (for tests of the memory bound).
func (s *Set[K]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pairs)
}

// Charge takes bytes from key's byte bucket unconditionally, possibly into
// debt (reads learn their size only after reading); later Allow calls fail
// until the debt is repaid.
func (s *Set[K]) Charge(key K, limit Limit, bytes float64) {
	if limit.BytesPerSecond == 0 {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pairs[key]
	if p == nil {
		p = &pair{units: Bucket{Rate: limit.PerSecond, Burst: limit.PerSecond}, bytes: Bucket{Rate: limit.BytesPerSecond, Burst: limit.BytesPerSecond}}
		s.pairs[key] = p
	}
	p.bytes.take(now, 0)
	p.bytes.tokens -= bytes
}
