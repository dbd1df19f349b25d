package console

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sampler returns the current value of every metric series, keyed by the
// series' Prometheus name with its labels (name{label="value",...});
// histograms contribute their _sum and _count.
type Sampler func() (map[string]float64, error)

// History keeps the last Points samples of the server's metrics so that a
// page opened now can draw the last minutes (stream rates, request rates).
// Its owner calls Sample periodically (the server's run group, every
// HistoryInterval). Bounded: at most MaxSeries series. Safe for concurrent
// use.
type History struct {
	sample Sampler
	now    func() time.Time

	mu     sync.Mutex
	times  []int64              // unix ms of each sample, oldest first; guarded by mu
	series map[string][]float64 // aligned with times; NaN where absent; guarded by mu
}

// History's bounds.
const (
	HistoryPoints   = 120             // samples kept
	HistoryInterval = 5 * time.Second // between samples: 10 minutes kept
	MaxSeries       = 5000
)

// NewHistory returns an empty history over sample.
func NewHistory(sample Sampler, now func() time.Time) *History {
	if now == nil {
		now = time.Now
	}
	return &History{sample: sample, now: now, series: map[string][]float64{}}
}

// Sample takes one sample now.
func (h *History) Sample(ctx context.Context) error {
	vals, err := h.sample()
	if err != nil {
		return err
	}
	t := h.now().UnixMilli()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.times = append(h.times, t)
	drop := len(h.times) - HistoryPoints
	if drop > 0 {
		h.times = h.times[drop:]
	}
	for k, s := range h.series {
		v, ok := vals[k]
		if !ok {
			v = math.NaN()
		}
		s = append(s, v)
		if drop > 0 {
			s = s[drop:]
		}
		if allNaN(s) {
			delete(h.series, k) // a deleted stream's series go away
			continue
		}
		h.series[k] = s
	}
	for k, v := range vals {
		if _, ok := h.series[k]; ok || len(h.series) >= MaxSeries {
			continue
		}
		s := make([]float64, len(h.times))
		for i := range s {
			s[i] = math.NaN()
		}
		s[len(s)-1] = v
		h.series[k] = s
	}
	return nil
}

func allNaN(s []float64) bool {
	for _, v := range s {
		if !math.IsNaN(v) {
			return false
		}
	}
	return true
}

// write encodes the series whose key starts with one of match (all when
// match is empty) as {"t": [ms...], "series": {key: [v|null...]}}, with a
// sample taken now as the last point (not kept), so that a page sees the
// present and not up to HistoryInterval ago.
func (h *History) write(w io.Writer, match []string) error {
	now, nowT := map[string]float64(nil), h.now().UnixMilli()
	if vals, err := h.sample(); err == nil {
		now = vals
	}
	h.mu.Lock()
	out := struct {
		T      []int64          `json:"t"`
		Series map[string][]any `json:"series"`
	}{T: append([]int64{}, h.times...), Series: map[string][]any{}}
	// A point closer than a second to the last sample would make a noisy rate.
	live := now != nil && (len(out.T) == 0 || nowT-out.T[len(out.T)-1] >= 1000)
	if live {
		out.T = append(out.T, nowT)
	}
	keys := make([]string, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !matches(k, match) {
			continue
		}
		vs := make([]any, len(h.series[k]), len(h.series[k])+1)
		for i, v := range h.series[k] {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				vs[i] = v
			}
		}
		if live {
			if v, ok := now[k]; ok {
				vs = append(vs, v)
			} else {
				vs = append(vs, nil)
			}
		}
		out.Series[k] = vs
	}
	if live { // series new since the last sample
		for k, v := range now {
			if _, ok := h.series[k]; ok || !matches(k, match) {
				continue
			}
			vs := make([]any, len(out.T))
			vs[len(vs)-1] = v
			out.Series[k] = vs
		}
	}
	h.mu.Unlock()
	return json.NewEncoder(w).Encode(out)
}

// matches reports whether key starts with one of prefixes (any key when
// there are none).
func matches(key string, prefixes []string) bool {
	ok := len(prefixes) == 0
	for _, m := range prefixes {
		ok = ok || strings.HasPrefix(key, m)
	}
	return ok
}
