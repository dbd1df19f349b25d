package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// Tumbling windows (TumblingWindowInSeconds) on Kinesis event source
// mappings, as Lambda runs them:
//
//   - a record belongs to the window [k·W, (k+1)·W) (Unix seconds, so
//     windows are aligned to wall-clock boundaries) that holds its
//     approximate arrival time;
//   - each batch holds the records of one window of one shard, and its
//     event carries the window's bounds, the state the function returned
//     last in that window ({} at first), the shard and the stream, with
//     isFinalInvokeForWindow and isWindowTerminatedEarly false; the
//     response must have a state property (else the batch failed, retried
//     like any failure), which the next batch of the window receives;
//   - a window ends when a record of a later window is read, when the
//     clock passes its end (plus windowGrace, for records committed just
//     before it), or at the shard's end (the children start fresh
//     windows). The function is then invoked once more with no records,
//     the final state and isFinalInvokeForWindow true; that invocation is
//     retried until it succeeds (the shard waits), then the state is
//     dropped;
//   - a state larger than maxWindowState ends the window early: a final
//     invocation with isWindowTerminatedEarly true too, after which the
//     same window goes on with a fresh state.
//
// The open window and its state are stored in the shard's checkpoint,
// written in the same commit as the sequence number they account for, so a
// crash redelivers the batches after the checkpoint with the state as it
// was before them: a deterministic aggregation comes out the same. With a
// window a shard's batches are delivered one at a time
// (ParallelizationFactor does not apply): the state is one chain per
// shard.

// windowGrace is how long after a window's end its final invocation
// waits for records that arrived before the end but were not yet readable
// (their commit was in flight).
const windowGrace = time.Second

// maxWindowState is the largest state a window keeps (Lambda: 1 MB per
// shard); a larger one ends the window early.
const maxWindowState = 1 << 20

// emptyState is a window's state before its first invocation.
var emptyState = json.RawMessage(`{}`)

// openWindow is a shard's window in progress (part of the stored
// checkpoint format): its bounds in Unix seconds and the state the
// function returned last.
type openWindow struct {
	Start int64           `json:"start"`
	End   int64           `json:"end"`
	State json.RawMessage `json:"state"`
}

// windowStart is the start (Unix seconds) of the w-second window holding
// t, but never before closed (the end of the last window finished).
func windowStart(t time.Time, w, closed int64) int64 {
	sec := t.Unix()
	ws := sec - sec%w
	if sec < 0 && sec%w != 0 {
		ws -= w
	}
	return max(ws, closed)
}

// deliverWindowed delivers records read from a shard, in order, window by
// window: it finishes the open window when a record of a later one comes,
// delivers each window's matching records in batches of at most BatchSize
// carrying the state, and checkpoints after each batch with the window's
// new state (filtered-out records are checkpointed too). It returns false
// when ctx ended.
func (s *Service) deliverWindowed(ctx context.Context, m *Mapping, shard string, c *checkpoint, recs []SourceRecord, filters []filter) bool {
	w := int64(m.TumblingWindowInSeconds)
	windowOf := func(r SourceRecord) int64 {
		ws := windowStart(r.ArrivalTime, w, c.Closed)
		if c.Window != nil && ws < c.Window.End {
			ws = c.Window.Start // the open window (a late record joins it)
		}
		return ws
	}
	for len(recs) > 0 {
		start := windowOf(recs[0])
		n := 1
		for n < len(recs) && windowOf(recs[n]) == start {
			n++
		}
		group := recs[:n]
		recs = recs[n:]
		if c.Window != nil && start != c.Window.Start { // a later window: the open one is over
			if !s.finishWindow(ctx, m, shard, c, false) {
				return false
			}
		}
		last := group[len(group)-1].SequenceNumber
		kept := filterRecords(filters, group)
		for len(kept) > 0 {
			if c.Window == nil {
				c.Window = &openWindow{Start: start, End: start + w, State: emptyState}
			}
			batch := kept[:min(len(kept), m.BatchSize)]
			kept = kept[len(batch):]
			if !s.deliver(ctx, m, shard, batch, c.Window) {
				return false
			}
			c.Seq = batch[len(batch)-1].SequenceNumber
			if len(kept) == 0 {
				c.Seq = last
			}
			s.checkpoint(ctx, m, shard, *c)
			if len(c.Window.State) > maxWindowState && !s.finishWindow(ctx, m, shard, c, true) {
				return false
			}
		}
		if c.Seq != last {
			c.Seq = last
			s.checkpoint(ctx, m, shard, *c)
		}
	}
	return true
}

// finishWindow makes the open window's final invocation (no records, the
// final state, isFinalInvokeForWindow true), retrying until it succeeds,
// then drops the window (or, when early, only its state) and checkpoints.
// It returns false when ctx ended first.
func (s *Service) finishWindow(ctx context.Context, m *Mapping, shard string, c *checkpoint, early bool) bool {
	event := windowEventOf(m, s.executionRole(ctx, m), shard, nil, c.Window, true, early)
	for attempt := 1; ; attempt++ {
		res, err := s.Invoke(ctx, Scope{Account: m.Account, Region: m.Region}, m.FunctionARN, event, InvokeOptions{})
		if ctx.Err() != nil {
			return false
		}
		if err == nil && res.FunctionError == "" {
			if _, ok := responseState(res.Payload); ok {
				break
			}
			s.cfg.Logger.Warn("event source mapping: the final invocation's response has no state property, which a tumbling window requires; retrying",
				"uuid", m.UUID, "shard", shard)
		} else {
			s.cfg.Logger.Warn("event source mapping: a window's final invocation failed; the shard waits until it succeeds",
				"uuid", m.UUID, "shard", shard, "err", err, "error", string(res.Payload))
		}
		s.setResult(m, "PROBLEM: Function call failed")
		if !sleepCtx(ctx, min(time.Duration(attempt)*100*time.Millisecond, 5*time.Second)) {
			return false
		}
	}
	s.setResult(m, "OK")
	if early {
		c.Window = &openWindow{Start: c.Window.Start, End: c.Window.End, State: emptyState}
	} else {
		c.Closed, c.Window = c.Window.End, nil
	}
	s.checkpoint(ctx, m, shard, *c)
	return true
}

// windowEventOf builds the event of a batch in a tumbling window (Lambda's
// KinesisTimeWindowEvent) to a function whose execution role is role.
func windowEventOf(m *Mapping, role, shard string, recs []SourceRecord, w *openWindow, final, early bool) []byte {
	iso := func(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }
	type bounds struct {
		Start string `json:"start"`
		End   string `json:"end"`
	}
	state := w.State
	if len(state) == 0 {
		state = emptyState
	}
	b, _ := json.Marshal(struct {
		Records                 []eventRecord   `json:"Records"`
		Window                  bounds          `json:"window"`
		State                   json.RawMessage `json:"state"`
		ShardID                 string          `json:"shardId"`
		EventSourceARN          string          `json:"eventSourceARN"`
		IsFinalInvokeForWindow  bool            `json:"isFinalInvokeForWindow"`
		IsWindowTerminatedEarly bool            `json:"isWindowTerminatedEarly"`
	}{eventRecords(m, role, shard, recs), bounds{iso(w.Start), iso(w.End)}, state, shard, m.stream(), final, early})
	return b
}

// responseState returns the state property of a windowed invocation's
// response (a null state is an empty one) and whether it has one.
func responseState(payload []byte) (json.RawMessage, bool) {
	var r map[string]json.RawMessage
	if json.Unmarshal(payload, &r) != nil {
		return nil, false
	}
	st, ok := r["state"]
	if !ok {
		return nil, false
	}
	var compact bytes.Buffer
	if json.Compact(&compact, st) != nil || compact.String() == "null" {
		return emptyState, true
	}
	return compact.Bytes(), true
}
