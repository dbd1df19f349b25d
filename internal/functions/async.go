package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxAsyncPayload is the largest event of an asynchronous invocation
// (Lambda: 1 MB since 2025; 256 KB before).
const MaxAsyncPayload = 1 << 20

// prefixAsync keys the durable queue of asynchronous invocations (part of
// the stored format): lambda/async/<enqueue time, 20 digits>-<id> → item.
const prefixAsync = "lambda/async/"

// asyncItem is one queued asynchronous invocation.
type asyncItem struct {
	Account, Region, Function string
	Payload                   []byte
	Attempts                  int       // attempts made
	NotBefore                 time.Time // the next attempt's earliest time
}

// Enqueue accepts an asynchronous (Event) invocation: the event is stored
// durably in the metadata store before it returns, and the async runner
// invokes the function, retrying a function error twice (Lambda's default
// MaximumRetryAttempts) before giving the event up.
func (s *Service) Enqueue(ctx context.Context, sc Scope, ref string, payload []byte) error {
	f, err := s.Get(ctx, sc, ref)
	if err != nil {
		return err
	}
	if len(payload) > MaxAsyncPayload {
		return errorf(KindTooLarge, "Request must be smaller than %d bytes for the InvokeAsync operation", MaxAsyncPayload)
	}
	if f.ReservedConcurrency != nil && *f.ReservedConcurrency == 0 {
		s.cfg.Observer.Throttle(f.Name)
		return errorf(KindThrottled, "Rate Exceeded.")
	}
	now := s.cfg.Now()
	item := asyncItem{Account: f.Account, Region: f.Region, Function: f.Name, Payload: payload, NotBefore: now}
	b, _ := json.Marshal(item)
	key := fmt.Sprintf("%s%020d-%s", prefixAsync, now.UnixNano(), newID())
	if ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: 0}, map[string][]byte{key: b}, nil); err != nil || !ok {
		return &Error{Kind: KindInternal, Err: fmt.Errorf("queueing an asynchronous invocation: ok=%v %v", ok, err)}
	}
	select {
	case s.asyncWake <- struct{}{}:
	default:
	}
	return nil
}

// RunAsync invokes queued asynchronous invocations until ctx ends (the
// server's run group owns it). Items are taken in queue order; one due
// later (a retry) waits without holding up the others.
func (s *Service) RunAsync(ctx context.Context) error {
	for {
		next := s.drainAsync(ctx)
		wait := time.Second
		if !next.IsZero() {
			wait = min(max(time.Until(next), 10*time.Millisecond), time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.asyncWake:
		case <-time.After(wait):
		}
	}
}

// drainAsync runs every due item once and returns the earliest time an
// item waiting for a retry falls due (zero when none waits).
func (s *Service) drainAsync(ctx context.Context) (next time.Time) {
	type entry struct {
		key  string
		rev  uint64
		item asyncItem
	}
	var due []entry
	now := s.cfg.Now()
	s.meta.Scan(ctx, prefixAsync, func(key string, v []byte, rev uint64) error {
		var it asyncItem
		if json.Unmarshal(v, &it) != nil {
			due = append(due, entry{key: key, rev: rev}) // unreadable: dropped below
			return nil
		}
		if it.NotBefore.After(now) {
			if next.IsZero() || it.NotBefore.Before(next) {
				next = it.NotBefore
			}
			return nil
		}
		if len(due) < 100 {
			due = append(due, entry{key, rev, it})
		}
		return nil
	})
	for _, e := range due {
		if ctx.Err() != nil {
			return next
		}
		if e.item.Function == "" {
			s.meta.Commit(ctx, map[string]uint64{e.key: e.rev}, nil, []string{e.key})
			continue
		}
		res, err := s.Invoke(ctx, Scope{Account: e.item.Account, Region: e.item.Region}, e.item.Function, e.item.Payload, InvokeOptions{})
		if ctx.Err() != nil {
			return next // stopped mid-invocation: the item stays queued
		}
		e.item.Attempts++
		failed := err != nil || res.FunctionError != ""
		var notFound *Error
		gone := errors.As(err, &notFound) && notFound.Kind == KindNotFound
		if !failed || gone || e.item.Attempts > s.cfg.AsyncRetries {
			if failed {
				s.cfg.Logger.Warn("asynchronous invocation given up", "function", e.item.Function, "attempts", e.item.Attempts,
					"error", strings.TrimSpace(string(res.Payload)), "err", err)
			}
			s.meta.Commit(ctx, map[string]uint64{e.key: e.rev}, nil, []string{e.key})
			continue
		}
		e.item.NotBefore = s.cfg.Now().Add(time.Duration(e.item.Attempts) * s.cfg.AsyncRetryDelay)
		b, _ := json.Marshal(e.item)
		s.meta.Commit(ctx, map[string]uint64{e.key: e.rev}, map[string][]byte{e.key: b}, nil)
		if next.IsZero() || e.item.NotBefore.Before(next) {
			next = e.item.NotBefore
		}
	}
	return next
}
