package server_test

// Sequence-number fidelity: every SequenceNumberForOrdering and
// StartingSequenceNumber case of kinesalite's putRecord.js, putRecords.js,
// getShardIterator.js and getRecords.js tests (recorded against AWS), with
// status, error type and exact message. Each case names its kinesalite test.

import (
	"context"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// fidelityStream is the name of the 3-shard stream kinesalite's tests
// share (helpers.testStream).
const fidelityStream = "fidelity_test_stream"

// hexNum returns the decimal form of a hexadecimal number.
func hexNum(t *testing.T, h string) string {
	t.Helper()
	b, ok := new(big.Int).SetString(h, 16)
	if !ok {
		t.Fatalf("bad hex %s", h)
	}
	return b.String()
}

// assertSequenceNumber is kinesalite's helpers.assertSequenceNumber: the
// version-2 hex shape with the shard index in both places, a shard
// creation time after 2015 and not in the future, and a record time within
// four seconds before ts (unix ms) and not in the future.
func assertSequenceNumber(t *testing.T, seq string, shardIx int, ts int64) {
	t.Helper()
	n, ok := new(big.Int).SetString(seq, 10)
	if !ok {
		t.Fatalf("sequence number %q is not a decimal number", seq)
	}
	hex := n.Text(16)
	ix := strconv.Itoa(shardIx)
	if !regexp.MustCompile(`^20[0-9a-f]{8}` + ix + `[0-9a-f]{16}000[0-9a-f]{8}0000000` + ix + `2$`).MatchString(hex) {
		t.Fatalf("sequence number %s (hex %s) does not have AWS's shape for shard %d", seq, hex, shardIx)
	}
	now := time.Now().Unix()
	created, _ := strconv.ParseInt(hex[2:10], 16, 64)
	if since2015 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Unix(); created < since2015 || created > now+1 {
		t.Fatalf("sequence number %s: shard creation time %d", seq, created)
	}
	rec, _ := strconv.ParseInt(hex[30:38], 16, 64)
	if rec < ts/1000-4 || rec > now+1 {
		t.Fatalf("sequence number %s: record time %d, want within [%d, %d]", seq, rec, ts/1000-4, now+1)
	}
}

// seqIndex is the counter field of a version-2 number (hex digits 11..27),
// which kinesalite's putRecords.js reads.
func seqIndex(t *testing.T, seq string) int64 {
	t.Helper()
	n, _ := new(big.Int).SetString(seq, 10)
	v, err := strconv.ParseInt(n.Text(16)[11:27], 16, 64)
	if err != nil {
		t.Fatalf("sequence number %s: %v", seq, err)
	}
	return v
}

func TestFidelitySequenceNumbers(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, fidelityStream, 3)
	invalidOrdering := func(seq string) string {
		return "ExclusiveMinimumSequenceNumber " + seq + " used in PutRecord on stream " + fidelityStream + " under account " + acct + " is invalid."
	}

	// putRecord.js, validations: each SequenceNumberForOrdering AWS refuses.
	for _, tt := range []struct{ name, hex string }{
		{"should return InvalidArgumentException for version 0 in SequenceNumberForOrdering", "20000000000000000000000000000000000000000000000"},
		{"should return InvalidArgumentException for version 4 in SequenceNumberForOrdering", "20000000000000000000000000000000000000000000004"},
		{"should return InvalidArgumentException for version 3 in SequenceNumberForOrdering", "20000000000000000000000000000000000000000000003"},
		{"should return InvalidArgumentException for initial 3 in SequenceNumberForOrdering", "30000000000000000000000000000000000000000000001"},
		{"should return InvalidArgumentException for initial 1 in SequenceNumberForOrdering", "1ffffffffff7fffffffffffffff000000000007fffffff2"},
		{"should return InvalidArgumentException for 8 in index in SequenceNumberForOrdering", "20000000000800000000000000000000000000000000002"},
		{"should return InvalidArgumentException if using sequence number with large date", "13bb2cc3d80000000000000000000000"},
		{"should return InvalidArgumentException with SequenceNumberForOrdering all f", "2ffffffffff7fffffffffffffff000000000007fffffff2"},
	} {
		t.Run("putRecord "+tt.name, func(t *testing.T) {
			seq := hexNum(t, tt.hex)
			r := ts.raw(t, "PutRecord", `{"StreamName":"`+fidelityStream+`","PartitionKey":"a","Data":"","SequenceNumberForOrdering":"`+seq+`"}`)
			if r.status != 400 || r.typ != "InvalidArgumentException" || r.message != invalidOrdering(seq) {
				t.Fatalf("got %d %s %q", r.status, r.typ, r.message)
			}
		})
	}
	t.Run("putRecord large date quotes the decimal number", func(t *testing.T) {
		// kinesalite spells the number out in the expected message.
		if got := hexNum(t, "13bb2cc3d80000000000000000000000"); got != "26227199374822427428162556223570313216" {
			t.Fatal(got)
		}
	})

	// putRecord.js, functionality: the SequenceNumberForOrdering values AWS
	// accepts; the answer is an ordinary number of shard 0.
	for _, tt := range []struct {
		name, hex string
		sinceNow  bool
	}{
		{"should work with SequenceNumberForOrdering all 0", "20000000000000000000000000000000000000000000002", true},
		{"should work with SequenceNumberForOrdering all 0 with version 1", "20000000000000000000000000000000000000000000001", true},
		{"should work with SequenceNumberForOrdering if 8 near end", "20000000000000000000000000000000000000800000002", false},
	} {
		t.Run("putRecord "+tt.name, func(t *testing.T) {
			now := time.Now().UnixMilli()
			out, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(fidelityStream), PartitionKey: aws.String("a"),
				Data: []byte{}, SequenceNumberForOrdering: aws.String(hexNum(t, tt.hex))})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.sinceNow {
				now = 0
			}
			assertSequenceNumber(t, *out.SequenceNumber, 0, now)
			if *out.ShardId != "shardId-000000000000" {
				t.Fatalf("ShardId %s", *out.ShardId)
			}
		})
	}

	// putRecord.js "should work with empty Data", "should work with final
	// ExplicitHashKey", "...just below range", "...just above range".
	t.Run("putRecord numbers have AWS's shape", func(t *testing.T) {
		third := new(big.Int).Div(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(3))
		twoThirds := new(big.Int).Mul(third, big.NewInt(2))
		for _, tt := range []struct {
			hashKey string
			shard   int
		}{
			{"", 0},
			{hkMax, 2},
			{new(big.Int).Sub(twoThirds, big.NewInt(1)).String(), 1},
			{twoThirds.String(), 2},
		} {
			now := time.Now().UnixMilli()
			in := &kinesis.PutRecordInput{StreamName: aws.String(fidelityStream), PartitionKey: aws.String("a"), Data: []byte{}}
			if tt.hashKey != "" {
				in.ExplicitHashKey = aws.String(tt.hashKey)
			}
			out, err := ts.kc.PutRecord(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			assertSequenceNumber(t, *out.SequenceNumber, tt.shard, now)
			if want := fmt.Sprintf("shardId-%012d", tt.shard); *out.ShardId != want {
				t.Fatalf("hash key %q: ShardId %s, want %s", tt.hashKey, *out.ShardId, want)
			}
		}
	})

	// putRecords.js "should work with mixed values": each number has the
	// shape of its shard, and within a shard the counters of one call are
	// consecutive.
	var mixed []types.PutRecordsResultEntry
	mixedRecords := func() []types.PutRecordsRequestEntry {
		third := new(big.Int).Div(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(3))
		twoThirds := new(big.Int).Mul(third, big.NewInt(2))
		var recs []types.PutRecordsRequestEntry
		for i, pk := range []string{"a", "b", "e", "f"} {
			recs = append(recs, types.PutRecordsRequestEntry{PartitionKey: aws.String(pk), Data: []byte{byte(i)}})
		}
		for i, hk := range []string{hkMax, new(big.Int).Sub(twoThirds, big.NewInt(1)).String(), twoThirds.String()} {
			recs = append(recs, types.PutRecordsRequestEntry{PartitionKey: aws.String("a"), Data: []byte{byte(4 + i)}, ExplicitHashKey: aws.String(hk)})
		}
		return recs
	}()
	t.Run("putRecords should work with mixed values", func(t *testing.T) {
		now := time.Now().UnixMilli()
		out, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(fidelityStream), Records: mixedRecords})
		if err != nil {
			t.Fatal(err)
		}
		mixed = out.Records
		for i, shard := range []int{0, 1, 2, 1, 2, 1, 2} {
			assertSequenceNumber(t, *out.Records[i].SequenceNumber, shard, now)
			if want := fmt.Sprintf("shardId-%012d", shard); *out.Records[i].ShardId != want {
				t.Fatalf("record %d: ShardId %s, want %s", i, *out.Records[i].ShardId, want)
			}
		}
		for _, order := range [][]int{{2, 4, 6}, {1, 3, 5}} {
			for k := 1; k < len(order); k++ {
				if d := seqIndex(t, *out.Records[order[k]].SequenceNumber) - seqIndex(t, *out.Records[order[k-1]].SequenceNumber); d != 1 {
					t.Fatalf("records %v: counters differ by %d, want 1", order, d)
				}
			}
		}
	})

	// getRecords.js "should return correct AT_SEQUENCE_NUMBER and
	// AFTER_SEQUENCE_NUMBER records".
	t.Run("getRecords AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER", func(t *testing.T) {
		if mixed == nil {
			t.Skip("needs the mixed put")
		}
		for _, tt := range []struct {
			typ  types.ShardIteratorType
			want []int
		}{
			{types.ShardIteratorTypeAtSequenceNumber, []int{1, 3, 5}},
			{types.ShardIteratorTypeAfterSequenceNumber, []int{3, 5}},
		} {
			it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String(fidelityStream), ShardId: aws.String("shardId-1"),
				ShardIteratorType: tt.typ, StartingSequenceNumber: mixed[1].SequenceNumber})
			out, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Records) != len(tt.want) {
				t.Fatalf("%s: %d records, want %d", tt.typ, len(out.Records), len(tt.want))
			}
			for k, i := range tt.want {
				r := out.Records[k]
				if *r.SequenceNumber != *mixed[i].SequenceNumber || string(r.Data) != string(mixedRecords[i].Data) || *r.PartitionKey != *mixedRecords[i].PartitionKey {
					t.Fatalf("%s: record %d is %s, want record %d (%s)", tt.typ, k, *r.SequenceNumber, i, *mixed[i].SequenceNumber)
				}
				// helpers.assertArrivalTimes: the arrival time is the
				// number's record time to within 3 s.
				n, _ := new(big.Int).SetString(*r.SequenceNumber, 10)
				secs, _ := strconv.ParseInt(n.Text(16)[30:38], 16, 64)
				if d := r.ApproximateArrivalTimestamp.Unix() - secs; d < 0 || d > 3 {
					t.Fatalf("arrival %v vs record time %d", r.ApproximateArrivalTimestamp, secs)
				}
			}
		}
	})

	// getShardIterator.js, validations.
	must := "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
	bigSeq := func(h string) string { return hexNum(t, h) }
	for _, tt := range []struct {
		name, shard, typ, seq string
		status                int
		errType, msg          string
	}{
		{"should return ResourceNotFoundException if known stream and raw shard ID does not exist", "shardId-5", "AT_SEQUENCE_NUMBER", "5",
			400, "ResourceNotFoundException", "Shard shardId-000000000005 in stream " + fidelityStream + " under account " + acct + " does not exist"},
		{"should return InvalidArgumentException if AT_SEQUENCE_NUMBER and no StartingSequenceNumber", "shardId-0", "AT_SEQUENCE_NUMBER", "",
			400, "InvalidArgumentException", must + "Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."},
		{"should return InvalidArgumentException if AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber", "shardId-0", "AFTER_SEQUENCE_NUMBER", "",
			400, "InvalidArgumentException", must + "Request specified AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber."},
		{"should return InvalidArgumentException if LATEST and StartingSequenceNumber", "shardId-0", "LATEST", "5",
			400, "InvalidArgumentException", must + "Request specified LATEST and also a StartingSequenceNumber."},
		{"should return InvalidArgumentException if TRIM_HORIZON and StartingSequenceNumber", "shardId-0", "TRIM_HORIZON", "5",
			400, "InvalidArgumentException", must + "Request specified TRIM_HORIZON and also a StartingSequenceNumber."},
		{"should return InvalidArgumentException if shard mismatches simple sequence", "shardId-0", "AT_SEQUENCE_NUMBER", "5",
			400, "InvalidArgumentException", "Invalid StartingSequenceNumber. It encodes shardId-000000000005, while it was used in a call to a shard with shardId-000000000000"},
		{"should return InternalFailure if using small (old?) sequence number", "shardId-0", "AT_SEQUENCE_NUMBER", "0",
			500, "InternalFailure", ""},
		{"should return InvalidArgumentException if using sequence number with large date", "shardId-0", "AT_SEQUENCE_NUMBER", "26227199374822427428162556223570313216",
			400, "InvalidArgumentException", "StartingSequenceNumber 26227199374822427428162556223570313216 used in GetShardIterator on shard shardId-000000000000 in stream " + fidelityStream + " under account " + acct + " is invalid."},
		{"should return InvalidArgumentException for 8 in index in StartingSequenceNumber", "shardId-0", "AT_SEQUENCE_NUMBER", bigSeq("20000000000800000000000000000000000000000000002"),
			400, "InvalidArgumentException", "StartingSequenceNumber " + bigSeq("20000000000800000000000000000000000000000000002") + " used in GetShardIterator on shard shardId-000000000000 in stream " + fidelityStream + " under account " + acct + " is invalid."},
		{"should return InvalidArgumentException for 8 near end of StartingSequenceNumber", "shardId-0", "AT_SEQUENCE_NUMBER", bigSeq("20000000000000000000000000000000000000800000002"),
			400, "InvalidArgumentException", "Invalid StartingSequenceNumber. It encodes shardId--02147483648, while it was used in a call to a shard with shardId-000000000000"},
		{"should return InvalidArgumentException if AT_TIMESTAMP and no Timestamp", "shardId-0", "AT_TIMESTAMP", "",
			400, "InvalidArgumentException", "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter."},
	} {
		t.Run("getShardIterator "+tt.name, func(t *testing.T) {
			body := `{"StreamName":"` + fidelityStream + `","ShardId":"` + tt.shard + `","ShardIteratorType":"` + tt.typ + `"`
			if tt.seq != "" {
				body += `,"StartingSequenceNumber":"` + tt.seq + `"`
			}
			r := ts.raw(t, "GetShardIterator", body+"}")
			if r.status != tt.status || r.typ != tt.errType || r.message != tt.msg {
				t.Fatalf("got %d %s %q\nwant %d %s %q", r.status, r.typ, r.message, tt.status, tt.errType, tt.msg)
			}
			if tt.status == 500 && len(r.body) != 1 {
				// helpers.assertInternalFailure: the body is exactly {__type}.
				t.Fatalf("InternalFailure body %v, want only __type", r.body)
			}
		})
	}

	t.Run("getShardIterator should return InvalidArgumentException if Timestamp in the future", func(t *testing.T) {
		future := float64(time.Now().UnixMilli())/1000 + 2
		r := ts.raw(t, "GetShardIterator", `{"StreamName":"`+fidelityStream+`","ShardId":"shardId-0","ShardIteratorType":"AT_TIMESTAMP","Timestamp":`+
			strconv.FormatFloat(future, 'f', -1, 64)+`}`)
		want := `^The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ` +
			strconv.FormatInt(int64(future*1000+0.5), 10) + `, currentTimestampInMillis: \d+$`
		if r.status != 400 || r.typ != "InvalidArgumentException" || !regexp.MustCompile(want).MatchString(r.message) {
			t.Fatalf("got %d %s %q, want %s", r.status, r.typ, r.message, want)
		}
	})

	// A number of this stream used on the right shard of another stream
	// with a different creation time.
	t.Run("getShardIterator number from another stream", func(t *testing.T) {
		if mixed == nil {
			t.Skip("needs the mixed put")
		}
		time.Sleep(1100 * time.Millisecond) // a different shard creation second
		ts.createStream(t, "fidelity_other", 3)
		seq := *mixed[0].SequenceNumber
		r := ts.raw(t, "GetShardIterator", `{"StreamName":"fidelity_other","ShardId":"shardId-0","ShardIteratorType":"AT_SEQUENCE_NUMBER","StartingSequenceNumber":"`+seq+`"}`)
		want := "StartingSequenceNumber " + seq + " used in GetShardIterator on shard shardId-000000000000 in stream fidelity_other under account " + acct + " is invalid because it did not come from this stream."
		if r.typ != "InvalidArgumentException" || r.message != want {
			t.Fatalf("got %s %q", r.typ, r.message)
		}
		// A version-1 number of the right shard did not come from this
		// stream either (Rheos issues version 2).
		v1 := hexNum(t, "20000000000000000000000000000000000000000000001")
		r = ts.raw(t, "GetShardIterator", `{"StreamName":"fidelity_other","ShardId":"shardId-0","ShardIteratorType":"AT_SEQUENCE_NUMBER","StartingSequenceNumber":"`+v1+`"}`)
		if r.typ != "InvalidArgumentException" || r.message != "StartingSequenceNumber "+v1+" used in GetShardIterator on shard shardId-000000000000 in stream fidelity_other under account "+acct+" is invalid because it did not come from this stream." {
			t.Fatalf("version 1: got %s %q", r.typ, r.message)
		}
	})
}
