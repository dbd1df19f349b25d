package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// sender sends one request of a fixed number of records. It is owned by one
// producer goroutine.
type sender interface {
	// records is the number of records every request carries.
	records() int
	// send writes header h into the request's records (record i gets counter
	// h.counter+i) and sends it. A non-nil error means the request failed
	// as a whole; otherwise failed lists, in order, the indexes of records
	// the server rejected and why is the first rejection's code and message.
	send(ctx context.Context, h header) (failed []int, why string, err error)
}

// leanSender sends pre-encoded bodies (see template) over raw HTTP.
type leanSender struct {
	c      *leanClient
	target string
	t      *template
	keys   []string // PutRecord: partition keys, one per request in turn
	next   int
	buf    bytes.Buffer
}

func (s *leanSender) records() int { return len(s.t.dataOff) }

func (s *leanSender) send(ctx context.Context, h header) ([]int, string, error) {
	s.t.patch(h)
	if s.keys != nil {
		s.t.setKey(s.keys[s.next])
		s.next = (s.next + 1) % len(s.keys)
	}
	if err := s.c.call(ctx, s.target, s.t.body, &s.buf); err != nil {
		return nil, "", err
	}
	if s.target == targetPutRecord {
		return nil, "", nil
	}
	return putRecordsFailures(s.buf.Bytes(), len(s.t.dataOff))
}

// putRecordsFailures reads a PutRecords response: the FailedRecordCount is
// found by a scan, and only when it is not zero is the body decoded to learn
// which records failed.
func putRecordsFailures(b []byte, n int) (failed []int, why string, err error) {
	const field = `"FailedRecordCount":`
	i := bytes.Index(b, []byte(field))
	if i < 0 {
		return nil, "", fmt.Errorf("PutRecords response without FailedRecordCount: %.200q", b)
	}
	j := i + len(field)
	for j < len(b) && b[j] == ' ' {
		j++
	}
	if j < len(b) && b[j] == '0' && (j+1 == len(b) || b[j+1] < '0' || b[j+1] > '9') {
		return nil, "", nil
	}
	var out struct {
		Records []struct{ ErrorCode, ErrorMessage string }
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, "", fmt.Errorf("PutRecords response: %w", err)
	}
	if len(out.Records) != n {
		return nil, "", fmt.Errorf("PutRecords response has %d records, want %d", len(out.Records), n)
	}
	for i, r := range out.Records {
		if r.ErrorCode != "" {
			if failed == nil {
				why = r.ErrorCode + ": " + r.ErrorMessage
			}
			failed = append(failed, i)
		}
	}
	return failed, why, nil
}

// sdkSender sends through the AWS SDK for Go v2. The records' Data slices
// are reused: the SDK has serialized a request when its call returns.
type sdkSender struct {
	c       *kinesis.Client
	stream  *string
	entries []types.PutRecordsRequestEntry // PutRecords
	keys    []*string                      // PutRecord: partition keys in turn
	data    []byte                         // PutRecord
	next    int
}

func (s *sdkSender) records() int {
	if s.entries != nil {
		return len(s.entries)
	}
	return 1
}

func (s *sdkSender) send(ctx context.Context, h header) (failed []int, why string, err error) {
	if s.entries == nil {
		h.put(s.data)
		key := s.keys[s.next]
		s.next = (s.next + 1) % len(s.keys)
		_, err := s.c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: s.stream, PartitionKey: key, Data: s.data})
		return nil, "", err
	}
	for i := range s.entries {
		r := h
		r.counter = h.counter + uint64(i)
		r.put(s.entries[i].Data)
	}
	out, err := s.c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: s.stream, Records: s.entries})
	if err != nil {
		return nil, "", err
	}
	if aws.ToInt32(out.FailedRecordCount) == 0 {
		return nil, "", nil
	}
	if len(out.Records) != len(s.entries) {
		return nil, "", fmt.Errorf("PutRecords response has %d records, want %d", len(out.Records), len(s.entries))
	}
	for i, r := range out.Records {
		if r.ErrorCode != nil {
			if failed == nil {
				why = aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage)
			}
			failed = append(failed, i)
		}
	}
	return failed, why, nil
}

// limiter spreads a total record rate over all producers. It is a token
// bucket one request deep, kept as the time the next request may start
// (GCRA): a producer reserves a start time and the following request starts
// n records' worth of time later. Time lost while producers lag is not
// caught up in a burst.
type limiter struct {
	perRecord float64 // nanoseconds per record

	mu   sync.Mutex
	next time.Time
}

func newLimiter(rate float64) *limiter { return &limiter{perRecord: 1e9 / rate} }

// reserve returns when a request of n records may start, given the time now.
func (l *limiter) reserve(now time.Time, n int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = at.Add(time.Duration(float64(n) * l.perRecord))
	return at
}

// live holds the counters the progress line reads while the run goes on.
type live struct {
	acked  atomic.Uint64
	failed atomic.Uint64
	read   atomic.Uint64
}

// producer sends requests in a loop until stopAt. Its fields are its own
// until run returns.
type producer struct {
	id      uint16
	tag     uint64
	snd     sender
	lim     *limiter // nil: as fast as possible
	live    *live
	counter uint64

	acked          bitset
	lat            histogram
	requests       uint64
	failedRequests uint64
	failed         uint64
	firstErr       error
}

// errorPause is how long a producer waits after a request failed as a
// whole, so that a refused connection does not become a busy loop.
const errorPause = 20 * time.Millisecond

func (p *producer) run(ctx context.Context, stopAt time.Time) {
	n := p.snd.records()
	for ctx.Err() == nil && time.Now().Before(stopAt) {
		if p.lim != nil {
			at := p.lim.reserve(time.Now(), n)
			if !at.Before(stopAt) || !sleepUntil(ctx, at) {
				return
			}
		}
		sent := time.Now()
		failed, why, err := p.snd.send(ctx, header{producer: p.id, counter: p.counter, sent: sent.UnixNano(), tag: p.tag})
		lat := time.Since(sent)
		if ctx.Err() != nil {
			return // interrupted: the outcome is unknown, count nothing
		}
		p.requests++
		if err != nil {
			p.failedRequests++
			p.failed += uint64(n)
			p.live.failed.Add(uint64(n))
			if p.firstErr == nil {
				p.firstErr = err
			}
			p.counter += uint64(n)
			sleepUntil(ctx, time.Now().Add(errorPause))
			continue
		}
		p.lat.record(lat)
		f := 0
		for i := range n {
			if f < len(failed) && failed[f] == i {
				f++
				continue
			}
			p.acked.set(p.counter + uint64(i))
		}
		if len(failed) > 0 && p.firstErr == nil {
			p.firstErr = fmt.Errorf("record rejected: %s", why)
		}
		p.failed += uint64(len(failed))
		p.live.failed.Add(uint64(len(failed)))
		p.live.acked.Add(uint64(n - len(failed)))
		p.counter += uint64(n)
	}
}

// sleepUntil waits until t and reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
