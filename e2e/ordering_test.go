package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// This file checks the ordering promise of a shard against a history
// recorded from the real binary under concurrent load, with porcupine (a
// linearizability checker) and a per-shard log model:
//
//   - every append (one record of a PutRecord or PutRecords) takes effect at
//     one instant between its call and its return, and gets a sequence
//     number greater than every record appended before it in that order;
//   - a GetShardIterator fixes a position: TRIM_HORIZON the start,
//     AT/AFTER_SEQUENCE_NUMBER the record with (after) that number, LATEST
//     the end of the log at one instant between its call and return;
//   - a GetRecords returns, at one instant between its call and return,
//     exactly the next min(Limit, available) records of the log from the
//     iterator's position: no gap, no reordering, no duplicate, nothing
//     that was never written, and every record acknowledged before the
//     call began.
//
// Acknowledged records are the appends whose result carried a sequence
// number. An append that failed (an error, a per-record ErrorCode, a
// connection cut by SIGKILL) may or may not have happened: if some read
// returned it, it happened, at the sequence number read, at some instant
// after its call (its return is open); if no read ever returned it, it is
// left out, which is exact because the run ends with a full read of every
// shard. A record a read returned and a later read (after a restart, say)
// does not is therefore a violation: it was observed, so it must be in the
// log.

// opKind is the kind of a recorded operation.
type opKind uint8

const (
	kindAppend opKind = iota // a PutRecord or PutRecords call
	kindIter                 // GetShardIterator
	kindRead                 // GetRecords
)

// seen is a record as a client saw it: its sequence number and its id (the
// record's Data; every record sent carries a unique id).
type seen struct{ Seq, ID string }

// sent is one record of an append and its outcome.
type sent struct {
	ID    string
	Acked bool   // the response carried a sequence number for it
	Shard string // acked records: the shard and sequence number returned
	Seq   string
}

// hop is one client operation of a recorded history. Call and Ret are
// monotonic nanoseconds since the start of the run.
type hop struct {
	Client    int
	Call, Ret int64
	Kind      opKind
	Puts      []sent // append
	Shard     string // iter, read
	IterType  string // iter
	StartSeq  string // iter: AT/AFTER_SEQUENCE_NUMBER's number
	Limit     int    // read
	Got       []seen // read
	OK        bool   // iter, read: the call succeeded
}

// recorder collects a history from concurrent clients.
type recorder struct {
	t0  time.Time
	mu  sync.Mutex
	ops []hop
}

func newRecorder() *recorder { return &recorder{t0: time.Now()} }

// now is monotonic: time.Since uses the monotonic clock reading.
func (r *recorder) now() int64 { return int64(time.Since(r.t0)) }

func (r *recorder) add(o hop) {
	r.mu.Lock()
	r.ops = append(r.ops, o)
	r.mu.Unlock()
}

func (r *recorder) history() []hop {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

// maxSlots bounds the consumers of one history (the model state is a fixed
// array so that states compare with ==).
const maxSlots = 16

// logIn is the input of one model operation.
type logIn struct {
	part  int // the shard's partition
	kind  opKind
	idx   int // append: the record's index in the shard's final log
	slot  int // iter, read: the consumer's slot
	pos   int // iter: the position, or -1 for LATEST
	limit int // read
	desc  string
}

// logOut is the output of a read: the index in the shard's final log of each
// record returned, -1 for one that is not in it.
type logOut struct{ got []int }

// logState is the state of one shard: how many records it holds and each
// consumer's iterator position (indexes into the shard's final log).
type logState struct {
	n   int
	pos [maxSlots]int
}

// shardLog is a shard's final log: every record known to have been
// appended, ordered by sequence number.
type shardLog struct {
	name string
	seqs []string // zero-padded so that they compare as strings
	ids  []string
	at   map[seen]int // (padded seq, id) → index
}

// padSeq makes decimal sequence numbers comparable as strings.
func padSeq(s string) string {
	if len(s) >= 64 {
		return s
	}
	return strings.Repeat("0", 64-len(s)) + s
}

// orderingCheck is a history translated for porcupine.
type orderingCheck struct {
	logs  []*shardLog
	model porcupine.Model
	ops   []porcupine.Operation
	// Unacknowledged records some read returned (kept, with an open
	// return) and those no read returned (left out).
	unackedSeen, unackedUnseen int
}

// buildOrderingCheck turns a recorded history into porcupine operations
// partitioned by shard, with the model over the shards' final logs.
func buildOrderingCheck(h []hop) (*orderingCheck, error) {
	c := &orderingCheck{}
	part := map[string]int{}
	partOf := func(shard string) int {
		p, ok := part[shard]
		if !ok {
			p = len(c.logs)
			part[shard] = p
			c.logs = append(c.logs, &shardLog{name: shard, at: map[seen]int{}})
		}
		return p
	}
	type entry struct {
		seq, id   string
		client    int
		call, ret int64
	}
	entries := map[int][]entry{}
	acked := map[string]bool{}
	unacked := map[string]hop{} // id → its append
	for _, o := range h {
		if o.Kind != kindAppend {
			continue
		}
		for _, p := range o.Puts {
			if p.Acked {
				if acked[p.ID] {
					return nil, fmt.Errorf("record id %s sent twice", p.ID)
				}
				acked[p.ID] = true
				pt := partOf(p.Shard)
				entries[pt] = append(entries[pt], entry{padSeq(p.Seq), p.ID, o.Client, o.Call, o.Ret})
			} else {
				unacked[p.ID] = o
			}
		}
	}
	// Unacknowledged records that some read returned happened: at the
	// sequence number of their first sighting, with an open return.
	placed := map[string]bool{}
	for _, o := range h {
		if o.Kind != kindRead || !o.OK {
			continue
		}
		for _, g := range o.Got {
			a, ok := unacked[g.ID]
			if !ok || acked[g.ID] || placed[g.ID] {
				continue
			}
			placed[g.ID] = true
			pt := partOf(o.Shard)
			entries[pt] = append(entries[pt], entry{padSeq(g.Seq), g.ID, a.Client, a.Call, math.MaxInt64})
		}
	}
	c.unackedSeen, c.unackedUnseen = len(placed), len(unacked)-len(placed)
	// Make sure every shard read has a partition, even an empty one.
	for _, o := range h {
		if o.Kind != kindAppend {
			partOf(o.Shard)
		}
	}
	for pt, es := range entries {
		sort.SliceStable(es, func(i, j int) bool { return es[i].seq < es[j].seq })
		lg := c.logs[pt]
		for i, e := range es {
			lg.seqs = append(lg.seqs, e.seq)
			lg.ids = append(lg.ids, e.id)
			lg.at[seen{e.seq, e.id}] = i
			c.ops = append(c.ops, porcupine.Operation{
				ClientId: e.client, Call: e.call, Return: e.ret,
				Input: logIn{part: pt, kind: kindAppend, idx: i, desc: fmt.Sprintf("append %s @%s", e.id, strings.TrimLeft(e.seq, "0"))},
			})
		}
	}
	slots := map[int]int{}
	for _, o := range h {
		if o.Kind == kindAppend || !o.OK {
			continue // a failed iterator or read observed nothing
		}
		slot, ok := slots[o.Client]
		if !ok {
			slot = len(slots)
			if slot >= maxSlots {
				return nil, fmt.Errorf("more than %d consumers", maxSlots)
			}
			slots[o.Client] = slot
		}
		pt := part[o.Shard]
		lg := c.logs[pt]
		in := logIn{part: pt, kind: o.Kind, slot: slot}
		var out logOut
		switch o.Kind {
		case kindIter:
			s := padSeq(o.StartSeq)
			switch o.IterType {
			case "TRIM_HORIZON":
				in.pos = 0
			case "LATEST":
				in.pos = -1
			case "AT_SEQUENCE_NUMBER":
				in.pos = sort.SearchStrings(lg.seqs, s)
			case "AFTER_SEQUENCE_NUMBER":
				in.pos = sort.Search(len(lg.seqs), func(i int) bool { return lg.seqs[i] > s })
			default:
				return nil, fmt.Errorf("iterator type %q", o.IterType)
			}
			in.desc = fmt.Sprintf("iterator %s %s", o.IterType, o.StartSeq)
		case kindRead:
			in.limit = o.Limit
			out.got = make([]int, len(o.Got))
			ids := make([]string, len(o.Got))
			for i, g := range o.Got {
				idx, ok := lg.at[seen{padSeq(g.Seq), g.ID}]
				if !ok {
					idx = -1
				}
				out.got[i] = idx
				ids[i] = g.ID
			}
			in.desc = fmt.Sprintf("read limit %d → %v", o.Limit, ids)
		}
		c.ops = append(c.ops, porcupine.Operation{ClientId: o.Client, Call: o.Call, Return: o.Ret, Input: in, Output: out})
	}
	c.model = porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			parts := make([][]porcupine.Operation, len(c.logs))
			for _, op := range history {
				p := op.Input.(logIn).part
				parts[p] = append(parts[p], op)
			}
			return parts
		},
		Init: func() any { return logState{} },
		Step: func(state, input, output any) (bool, any) {
			s := state.(logState)
			in := input.(logIn)
			switch in.kind {
			case kindAppend:
				lg := c.logs[in.part]
				if in.idx != s.n || in.idx > 0 && lg.seqs[in.idx-1] >= lg.seqs[in.idx] {
					return false, s
				}
				s.n++
				return true, s
			case kindIter:
				p := in.pos
				if p < 0 {
					p = s.n
				}
				s.pos[in.slot] = p
				return true, s
			default:
				got := output.(logOut).got
				p := s.pos[in.slot]
				want := max(0, min(in.limit, s.n-p))
				if len(got) != want {
					return false, s
				}
				for i, g := range got {
					if g != p+i {
						return false, s
					}
				}
				s.pos[in.slot] = p + len(got)
				return true, s
			}
		},
		DescribeOperation: func(input, output any) string { return input.(logIn).desc },
		DescribeState: func(state any) string {
			s := state.(logState)
			return fmt.Sprintf("%d records, positions %v", s.n, s.pos)
		},
	}
	return c, nil
}

// checkOrdering runs porcupine on a history. It returns the result and, on
// failure, the verbose info for a visualization.
func checkOrdering(h []hop, timeout time.Duration) (porcupine.CheckResult, *orderingCheck, porcupine.LinearizationInfo, error) {
	c, err := buildOrderingCheck(h)
	if err != nil {
		return porcupine.Illegal, nil, porcupine.LinearizationInfo{}, err
	}
	res, info := porcupine.CheckOperationsVerbose(c.model, c.ops, timeout)
	return res, c, info, nil
}

// shardHistory keeps the operations of a history that concern one shard:
// its iterators and reads, the records acknowledged on it and every
// unacknowledged record (a read of the shard may have returned it).
func shardHistory(h []hop, shard string) []hop {
	var out []hop
	for _, o := range h {
		if o.Kind != kindAppend {
			if o.Shard == shard {
				out = append(out, o)
			}
			continue
		}
		var puts []sent
		for _, p := range o.Puts {
			if !p.Acked || p.Shard == shard {
				puts = append(puts, p)
			}
		}
		if len(puts) > 0 {
			o.Puts = puts
			out = append(out, o)
		}
	}
	return out
}

// TestOrderingCheckerRejectsBrokenHistories proves the checker can fail: a
// valid hand-built history passes, and each way of breaking it is rejected.
func TestOrderingCheckerRejectsBrokenHistories(t *testing.T) {
	const sh = "shardId-000000000000"
	put := func(client int, call, ret int64, recs ...sent) hop {
		for i := range recs {
			if recs[i].Acked {
				recs[i].Shard = sh
			}
		}
		return hop{Client: client, Call: call, Ret: ret, Kind: kindAppend, Puts: recs}
	}
	ack := func(id, seq string) sent { return sent{ID: id, Acked: true, Seq: seq} }
	lost := func(id string) sent { return sent{ID: id} }
	iter := func(client int, call, ret int64, typ, seq string) hop {
		return hop{Client: client, Call: call, Ret: ret, Kind: kindIter, Shard: sh, IterType: typ, StartSeq: seq, OK: true}
	}
	read := func(client int, call, ret int64, limit int, got ...seen) hop {
		return hop{Client: client, Call: call, Ret: ret, Kind: kindRead, Shard: sh, Limit: limit, Got: got, OK: true}
	}
	a, b, c := seen{"100", "a"}, seen{"200", "b"}, seen{"300", "c"}
	// valid: a and b are appended one after the other; c's append fails
	// but a read shows it, so it happened; reads from each iterator type.
	valid := func() []hop {
		return []hop{
			put(0, 0, 10, ack("a", "100")),
			put(0, 20, 30, ack("b", "200")),
			put(1, 25, 40, lost("c")),
			put(1, 45, 50, lost("never")),
			iter(5, 31, 32, "TRIM_HORIZON", ""),
			read(5, 33, 34, 1, a),
			read(5, 35, 36, 10, b),
			iter(6, 31, 32, "AFTER_SEQUENCE_NUMBER", "100"),
			read(6, 33, 34, 10, b),
			iter(7, 31, 32, "AT_SEQUENCE_NUMBER", "200"),
			read(7, 60, 61, 10, b, c),
			iter(8, 31, 32, "LATEST", ""),
			read(8, 60, 61, 10, c),
			iter(9, 70, 71, "TRIM_HORIZON", ""),
			read(9, 72, 73, 100, a, b, c),
		}
	}
	if res, _, _, err := checkOrdering(valid(), 10*time.Second); err != nil || res != porcupine.Ok {
		t.Fatalf("valid history: %v %v", res, err)
	}
	// The controls of the two stand-alone broken histories below.
	for i, h := range [][]hop{
		{put(0, 0, 10, ack("a", "100")), put(0, 20, 30, ack("b", "200")), iter(5, 40, 41, "TRIM_HORIZON", ""), read(5, 42, 43, 10, a, b)},
		{put(0, 0, 10, ack("a", "100")), put(1, 0, 10, ack("b", "101")), iter(5, 40, 41, "TRIM_HORIZON", ""), read(5, 42, 43, 10, a, seen{"101", "b"})},
		{put(0, 0, 10, ack("b", "101")), put(1, 0, 10, ack("a", "100")), iter(5, 40, 41, "TRIM_HORIZON", ""), read(5, 42, 43, 10, a, seen{"101", "b"})},
	} {
		if res, _, _, err := checkOrdering(h, 10*time.Second); err != nil || res != porcupine.Ok {
			t.Fatalf("control %d: %v %v", i, res, err)
		}
	}
	cases := []struct {
		name   string
		mutate func(h []hop) []hop
	}{
		{"read skips a record", func(h []hop) []hop { h[14].Got = []seen{a, c}; return h }},
		{"read reorders two records", func(h []hop) []hop { h[14].Got = []seen{b, a, c}; return h }},
		{"read duplicates a record", func(h []hop) []hop { h[14].Got = []seen{a, b, b, c}; return h }},
		{"read returns a record never written", func(h []hop) []hop { h[14].Got = []seen{a, b, c, {"400", "ghost"}}; return h }},
		{"read returns a record under another number", func(h []hop) []hop { h[14].Got = []seen{a, {"250", "b"}, c}; return h }},
		{"read misses an acknowledged record", func(h []hop) []hop { h[6].Got = nil; return h }},
		{"read returns fewer records than available", func(h []hop) []hop { h[5].Limit = 2; return h }},
		{"read returns more than its limit", func(h []hop) []hop { h[5].Got = []seen{a, b}; return h }},
		{"unacknowledged record read, later absent", func(h []hop) []hop { h[14].Got = []seen{a, b}; return h }},
		{"sequence numbers go back in real-time order", func([]hop) []hop {
			// a is acknowledged before b is sent, yet numbered after it;
			// the read agrees with the numbers, so only the order of the
			// appends is wrong.
			return []hop{
				put(0, 0, 10, ack("a", "200")),
				put(0, 20, 30, ack("b", "100")),
				iter(5, 40, 41, "TRIM_HORIZON", ""),
				read(5, 42, 43, 10, seen{"100", "b"}, seen{"200", "a"}),
			}
		}},
		{"two records share a sequence number", func([]hop) []hop {
			// Concurrent appends, so either order would do, and a read
			// that agrees with the numbers: only the tie is wrong.
			return []hop{
				put(0, 0, 10, ack("a", "100")),
				put(1, 0, 10, ack("b", "100")),
				iter(5, 40, 41, "TRIM_HORIZON", ""),
				read(5, 42, 43, 10, seen{"100", "a"}, seen{"100", "b"}),
			}
		}},
		{"LATEST skips a record appended after it", func(h []hop) []hop {
			// Client 8 took LATEST at 31–32 and read [c] at 60–61; d,
			// appended after the iterator and acknowledged before that
			// read, must be in it too (the final read has it, so only
			// client 8's read is wrong).
			h = append(h, put(2, 40, 41, ack("d", "400")))
			h[14].Got = []seen{a, b, c, {"400", "d"}}
			return h
		}},
		{"acknowledged record lost at the end", func(h []hop) []hop {
			h = append(h, put(2, 80, 81, ack("e", "500")))
			h = append(h, iter(9, 90, 91, "AFTER_SEQUENCE_NUMBER", "300"), read(9, 92, 93, 10))
			return h
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, _, _, err := checkOrdering(tc.mutate(valid()), 10*time.Second)
			if err != nil || res != porcupine.Illegal {
				t.Fatalf("broken history not rejected by the model: %v %v", res, err)
			}
		})
	}
}

// TestOrderingUnderLoad records a history from the real binary under
// concurrent producers and consumers, with a SIGKILL and restart in the
// middle, and checks it with porcupine.
func TestOrderingUnderLoad(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	p := startServer(t, data, addr)
	c := client(addr)
	const stream = "ordering"
	createStream(t, c, stream, 3)
	ls, err := c.ListShards(context.Background(), &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var shards []string
	for _, s := range ls.Shards {
		shards = append(shards, aws.ToString(s.ShardId))
	}

	rec := newRecorder()
	// known holds recent sequence numbers per shard, for AT/AFTER iterators.
	var knownMu sync.Mutex
	known := map[string][]string{}
	learn := func(shard, seq string) {
		knownMu.Lock()
		k := append(known[shard], seq)
		if len(k) > 64 {
			k = k[len(k)-64:]
		}
		known[shard] = k
		knownMu.Unlock()
	}
	pick := func(rng *rand.Rand, shard string) (string, bool) {
		knownMu.Lock()
		defer knownMu.Unlock()
		k := known[shard]
		if len(k) == 0 {
			return "", false
		}
		return k[rng.IntN(len(k))], true
	}
	const producers, consumers = 4, 4
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for n := 0; ctx.Err() == nil; {
				k := 1
				single := rng.IntN(3) == 0
				if !single {
					k = 1 + rng.IntN(12)
				}
				puts := make([]sent, k)
				entries := make([]types.PutRecordsRequestEntry, k)
				for i := range puts {
					n++
					puts[i].ID = fmt.Sprintf("p%d-%d", w, n)
					entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("k%d", rng.IntN(1000))), Data: []byte(puts[i].ID)}
				}
				rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
				call := rec.now()
				if single {
					out, err := c.PutRecord(rctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: entries[0].PartitionKey, Data: entries[0].Data})
					if err == nil {
						puts[0].Acked, puts[0].Shard, puts[0].Seq = true, aws.ToString(out.ShardId), aws.ToString(out.SequenceNumber)
					}
				} else {
					out, err := c.PutRecords(rctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
					if err == nil {
						for i, r := range out.Records {
							if r.ErrorCode == nil {
								puts[i].Acked, puts[i].Shard, puts[i].Seq = true, aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber)
							}
						}
					}
				}
				ret := rec.now()
				rcancel()
				rec.add(hop{Client: w, Call: call, Ret: ret, Kind: kindAppend, Puts: puts})
				acks := 0
				for _, p := range puts {
					if p.Acked {
						learn(p.Shard, p.Seq)
						acks++
					}
				}
				if acks == 0 {
					time.Sleep(10 * time.Millisecond) // the server is down
				} else {
					time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
				}
			}
		}()
	}
	consumer := func(client int, rng *rand.Rand, done func() bool) {
		iterTypes := []string{"TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"}
		for !done() {
			shard := shards[rng.IntN(len(shards))]
			typ := iterTypes[rng.IntN(len(iterTypes))]
			var start string
			if strings.HasSuffix(typ, "SEQUENCE_NUMBER") {
				var ok bool
				if start, ok = pick(rng, shard); !ok {
					typ = "TRIM_HORIZON"
				}
			}
			in := &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorType(typ)}
			if start != "" {
				in.StartingSequenceNumber = aws.String(start)
			}
			rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
			call := rec.now()
			it, err := c.GetShardIterator(rctx, in)
			rec.add(hop{Client: client, Call: call, Ret: rec.now(), Kind: kindIter, Shard: shard, IterType: typ, StartSeq: start, OK: err == nil})
			rcancel()
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			iter := it.ShardIterator
			for range 1 + rng.IntN(6) {
				limit := 1 + rng.IntN(40)
				rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
				call := rec.now()
				out, err := c.GetRecords(rctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(int32(limit))})
				ret := rec.now()
				rcancel()
				o := hop{Client: client, Call: call, Ret: ret, Kind: kindRead, Shard: shard, Limit: limit, OK: err == nil}
				if err != nil {
					rec.add(o)
					time.Sleep(10 * time.Millisecond)
					break
				}
				for _, r := range out.Records {
					o.Got = append(o.Got, seen{aws.ToString(r.SequenceNumber), string(r.Data)})
					learn(shard, aws.ToString(r.SequenceNumber))
				}
				rec.add(o)
				iter = out.NextShardIterator
				time.Sleep(time.Duration(rng.IntN(4)) * time.Millisecond)
			}
		}
	}
	for w := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			consumer(producers+w, rand.New(rand.NewPCG(seed, uint64(100+w))), func() bool { return ctx.Err() != nil })
		}()
	}

	rng := rand.New(rand.NewPCG(seed, 999))
	time.Sleep(time.Duration(1500+rng.IntN(1000)) * time.Millisecond)
	p.kill() // SIGKILL mid-load: acknowledged records must survive
	t.Log("killed the server")
	p = startServer(t, data, addr)
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()

	// A final full read of every shard, recorded like any other read: every
	// acknowledged record and every record ever observed must be in it, once,
	// in order.
	final := producers + consumers
	for _, shard := range shards {
		call := rec.now()
		it, err := c.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		rec.add(hop{Client: final, Call: call, Ret: rec.now(), Kind: kindIter, Shard: shard, IterType: "TRIM_HORIZON", OK: true})
		iter := it.ShardIterator
		for {
			call := rec.now()
			out, err := c.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
			if err != nil {
				t.Fatal(err)
			}
			o := hop{Client: final, Call: call, Ret: rec.now(), Kind: kindRead, Shard: shard, Limit: 10000, OK: true}
			for _, r := range out.Records {
				o.Got = append(o.Got, seen{aws.ToString(r.SequenceNumber), string(r.Data)})
			}
			rec.add(o)
			iter = out.NextShardIterator
			if len(out.Records) == 0 {
				break
			}
		}
	}
	p.terminate(t)

	h := rec.history()
	var appends, acks, unacked, iters, reads, readRecs int
	for _, o := range h {
		switch o.Kind {
		case kindAppend:
			appends++
			for _, p := range o.Puts {
				if p.Acked {
					acks++
				} else {
					unacked++
				}
			}
		case kindIter:
			iters++
		case kindRead:
			reads++
			readRecs += len(o.Got)
		}
	}
	t.Logf("history: %d appends (%d records acknowledged, %d not), %d iterators, %d reads returning %d records", appends, acks, unacked, iters, reads, readRecs)
	if acks < 500 || readRecs < 500 {
		t.Fatalf("load too light to mean anything: %d acks, %d records read", acks, readRecs)
	}
	start := time.Now()
	res, chk, info, err := checkOrdering(h, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("porcupine: %v over %d operations in %d shards, %v; unacknowledged records: %d read back, %d never seen",
		res, len(chk.ops), len(chk.logs), time.Since(start).Round(time.Millisecond), chk.unackedSeen, chk.unackedUnseen)
	if res != porcupine.Ok {
		path := filepath.Join(t.ArtifactDir(), "ordering.html")
		if err := porcupine.VisualizePath(chk.model, info, path); err == nil {
			t.Logf("visualization: %s", path)
		}
		t.Fatalf("history is not linearizable against the per-shard log model: %v", res)
	}

	// The checker must be able to fail on this very history: break one
	// read that returned at least three records in three ways. Only the
	// read's shard is checked (partitions are independent).
	// The victim's records must all have been acknowledged: an
	// unacknowledged record exists in the model only if some read returned
	// it, so dropping it from its only read makes a consistent history.
	acked := map[string]bool{}
	for _, o := range h {
		for _, p := range o.Puts {
			if p.Acked {
				acked[p.ID] = true
			}
		}
	}
	allAcked := func(g []seen) bool {
		for _, r := range g {
			if !acked[r.ID] {
				return false
			}
		}
		return true
	}
	victim := -1
	for i, o := range h {
		if o.Kind == kindRead && len(o.Got) >= 3 && allAcked(o.Got) && (victim < 0 || len(o.Got) < len(h[victim].Got)) {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatal("no read returned three acknowledged records")
	}
	shard, client := h[victim].Shard, h[victim].Client
	h[victim].Client = -1 // marks the victim through the filtering
	sh := shardHistory(h, shard)
	h[victim].Client = client
	victim = slices.IndexFunc(sh, func(o hop) bool { return o.Client == -1 })
	sh[victim].Client = client
	if res, _, _, err := checkOrdering(sh, time.Minute); err != nil || res != porcupine.Ok {
		t.Fatalf("%s alone: %v %v", shard, res, err)
	}
	for name, mutate := range map[string]func([]seen) []seen{
		"swap": func(g []seen) []seen { g[0], g[1] = g[1], g[0]; return g },
		// A gap in the middle: dropping the first record could be read as
		// a LATEST iterator that linearized after it.
		"gap":       func(g []seen) []seen { return append(append(g[:0:0], g[0]), g[2:]...) },
		"duplicate": func(g []seen) []seen { return append(slices.Clone(g), g[len(g)-1]) },
	} {
		bad := slices.Clone(sh)
		bad[victim].Got = mutate(slices.Clone(sh[victim].Got))
		res, _, _, err := checkOrdering(bad, time.Minute)
		if err != nil || res != porcupine.Illegal {
			t.Fatalf("mutated history (%s) accepted: %v %v", name, res, err)
		}
	}
}
