package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/config"
)

// The denial-of-service probes of issue 20 (points 9 and 10), bounded: the
// attacks run for a few seconds against limits made small enough to show
// them, while a well-behaved client keeps being served.

// withAttacker turns verification on with the test client's key as root and
// mallory, a principal allowed everything, whose key the attacks use.
func withAttacker(c *config.Config) {
	c.AuthMode = "verify"
	c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDTEST", "secret"
	c.Principals = []config.Principal{{Name: "mallory", AccessKeyID: "AKIDMALLORY", SecretAccessKey: "mallory-secret",
		Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}`)}}}
}

var mallory = aws.Credentials{AccessKeyID: "AKIDMALLORY", SecretAccessKey: "mallory-secret"}

// answer is what an attacking connection got back, and when.
type answer struct {
	status int
	typ    string
	close  bool
	read   int64 // body bytes read
	err    error // reading the answer or its body
	at     time.Duration
}

// attackConn is a raw connection whose answer is read in the background
// (or, with lazy, only when asked: a client that does not read).
type attackConn struct {
	net.Conn
	start time.Time
	done  chan answer
}

// dialAttack dials the server with a small receive buffer, so that the
// kernel does not take answers in the client's stead.
func dialAttack(t *testing.T, url string) *attackConn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &attackConn{Conn: c, start: time.Now(), done: make(chan answer, 1)}
}

// readAnswer reads one answer from the connection (and its body).
func (a *attackConn) readAnswer() answer { return a.readAnswerFrom(a) }

// readAnswerSlowly reads one answer at 40 KB/s at most (4 KiB every
// 0.1 s) until fast is set, then at full speed.
func (a *attackConn) readAnswerSlowly(fast *atomic.Bool) answer {
	return a.readAnswerFrom(slowReader{a, fast})
}

type slowReader struct {
	r    io.Reader
	fast *atomic.Bool
}

func (s slowReader) Read(p []byte) (int, error) {
	if s.fast.Load() {
		return s.r.Read(p)
	}
	time.Sleep(100 * time.Millisecond)
	return s.r.Read(p[:min(len(p), 4096)])
}

func (a *attackConn) readAnswerFrom(r io.Reader) answer {
	resp, err := http.ReadResponse(bufio.NewReader(r), nil)
	if err != nil {
		return answer{err: err, at: time.Since(a.start)}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	return answer{status: resp.StatusCode, typ: resp.Header.Get("x-amzn-ErrorType"), close: resp.Close, read: n, err: err, at: time.Since(a.start)}
}

// listen reads the answer in the background.
func (a *attackConn) listen() { go func() { a.done <- a.readAnswer() }() }

// putHead is the head of a PutRecords request announcing length bytes,
// with the given Authorization ("" for none).
func putHead(host, auth string, length int) string {
	h := "POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.PutRecords\r\n" +
		"X-Amz-Date: " + time.Now().UTC().Format("20060102T150405Z") + "\r\n"
	if auth != "" {
		h += "Authorization: " + auth + "\r\n"
	}
	return h + "Content-Length: " + strconv.Itoa(length) + "\r\n\r\n"
}

// served runs a well-behaved client's PutRecord and GetRecords until stop
// closes, and reports the first failure and the slowest call.
func served(ts *testServer, stream string, stop <-chan struct{}) (calls int, slowest time.Duration, err error) {
	ctx := context.Background()
	it, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeLatest})
	if err != nil {
		return 0, 0, err
	}
	iter := it.ShardIterator
	for {
		select {
		case <-stop:
			return calls, slowest, nil
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		start := time.Now()
		_, err := ts.kc.PutRecord(cctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: []byte("served")})
		if err == nil {
			var out *kinesis.GetRecordsOutput
			if out, err = ts.kc.GetRecords(cctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10)}); err == nil {
				iter = out.NextShardIterator
			}
		}
		cancel()
		slowest = max(slowest, time.Since(start))
		if err != nil {
			return calls, slowest, err
		}
		calls++
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDoSTricklingBodies is issue 20's point 9: connections that announce
// 16 MiB bodies and trickle them, without a signature, with an unknown
// key, or with a known key and a made-up signature, and connections of a
// known key that send 8 MiB at once and stall. Before admission and
// incremental budgeting, 16 announced bodies reserved the whole 256 MiB
// budget and every other caller waited 5 s for a 503. Now: requests
// without a known key are refused before their body is read; trickling
// bodies hold what they sent and are cut once below the minimum data rate
// after the grace period; the stalled bursts hold at most their key's
// share. A well-behaved client is served throughout.
func TestDoSTricklingBodies(t *testing.T) {
	const grace = time.Second
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		withAttacker(c)
		c.InflightBytes, c.PrincipalBytes = 64<<20, 16<<20
		c.BodyGrace = config.Duration(grace)
	})
	ts.createStream(t, "victim", 1)
	host := strings.TrimPrefix(ts.url, "http://")
	scope := time.Now().UTC().Format("20060102") + "/us-east-1/kinesis/aws4_request"
	stop := make(chan struct{})
	var wg sync.WaitGroup
	groups := map[string][]*attackConn{}
	defer func() {
		close(stop)
		for _, g := range groups {
			for _, a := range g {
				a.Close() // ends the stalled bursts' writes
			}
		}
		wg.Wait()
	}()
	trickle := func(a *attackConn) {
		defer wg.Done()
		io.WriteString(a, `{"Records":[{"Data":"`)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := a.Write([]byte("A")); err != nil {
				return
			}
		}
	}
	for _, g := range []struct{ name, auth string }{
		{"unsigned", ""},
		{"unknown key", "AWS4-HMAC-SHA256 Credential=AKIDNOBODY/" + scope + ", SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64)},
		{"known key", "AWS4-HMAC-SHA256 Credential=AKIDMALLORY/" + scope + ", SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64)},
	} {
		for range 16 {
			a := dialAttack(t, ts.url)
			io.WriteString(a, putHead(host, g.auth, 16<<20))
			a.listen()
			wg.Add(1)
			go trickle(a)
			groups[g.name] = append(groups[g.name], a)
		}
	}
	burst := make([]byte, 8<<20)
	for range 16 {
		a := dialAttack(t, ts.url)
		io.WriteString(a, putHead(host, "AWS4-HMAC-SHA256 Credential=AKIDMALLORY/"+scope+", SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64), 16<<20))
		a.listen()
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.SetWriteDeadline(time.Now().Add(10 * time.Second))
			a.Write(burst)
		}()
		groups["burst"] = append(groups["burst"], a)
	}

	// The well-behaved client, while the attack lasts (past the 5 s the
	// stalled bursts wait for their key's share).
	served := func() (int, time.Duration, error) {
		timer := make(chan struct{})
		time.AfterFunc(6*time.Second, func() { close(timer) })
		return served(ts, "victim", timer)
	}
	calls, slowest, err := served()
	if err != nil {
		t.Fatalf("a well-behaved client was refused during the attack after %d calls: %v", calls, err)
	}
	if slowest > 2*time.Second {
		t.Errorf("a well-behaved client waited %v for a call during the attack", slowest)
	}
	t.Logf("well-behaved client: %d PutRecord+GetRecords, slowest %v", calls, slowest)

	// Every attacking connection was answered (each answer timed from its
	// connection's start) and closed.
	for _, g := range []struct {
		name   string
		typ    string
		within time.Duration
	}{
		{"unsigned", "MissingAuthenticationTokenException", time.Second},
		{"unknown key", "UnrecognizedClientException", time.Second},
		{"known key", "SerializationException", grace + 2*time.Second},
	} {
		for i, a := range groups[g.name] {
			var ans answer
			select {
			case ans = <-a.done:
			case <-time.After(5 * time.Second):
				ans.err = io.ErrNoProgress
			}
			if ans.err != nil || ans.typ != g.typ || !ans.close || ans.at > g.within {
				t.Errorf("%s #%d: %d %s (close %v) after %v, %v; want %s, closed, within %v", g.name, i, ans.status, ans.typ, ans.close, ans.at, ans.err, g.typ, g.within)
			}
		}
	}
	// The stalled bursts (128 MiB sent of 256 MiB announced, one key) hold
	// at most the key's share (16 MiB): without it they would hold the
	// whole 64 MiB budget and the well-behaved client above would have
	// waited 5 s for a 503. None of them completes.
	for i, a := range groups["burst"] {
		select {
		case ans := <-a.done:
			if ans.status == 200 {
				t.Errorf("stalled burst #%d completed", i)
			}
		default:
		}
	}
}

// rss is the process's resident set size (VmRSS).
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestDoSSlowReaders is issue 20's point 10: 40 connections ask for
// GetRecords answers of ~13 MB and read them at 40 KB/s. Before, the server
// held every answer (RSS 933 MB) for as long as the connections stayed.
// Now GetRecords reserves its largest answer from the caller's share before
// it reads: two fit in mallory's 32 MiB, the others wait for room and are
// refused with a retryable 503 ServiceUnavailable after 5 s, the admitted
// ones are cut by the write deadline (which admits the next), RSS stays
// within the bound SECURITY.md documents (2 × limits.inflightBytes above the
// idle process), and another client is served throughout.
func TestDoSSlowReaders(t *testing.T) {
	const (
		inflight     = 128 << 20
		writeTimeout = 6 * time.Second // past the 5 s the refused wait for room
		rate         = 16 << 20        // 13 MB: a deadline of 6.8 s
		window       = writeTimeout + 3*time.Second
	)
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		withAttacker(c)
		c.InflightBytes, c.PrincipalBytes = inflight, 32<<20
		c.WriteTimeout, c.MinDataRate = config.Duration(writeTimeout), rate
	})
	ts.createStream(t, "big", 1)
	ts.createStream(t, "victim", 1)
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 1<<20-1<<10)
	for range 10 {
		if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("big"), PartitionKey: aws.String("k"), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	it, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("big"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"ShardIterator":"` + *it.ShardIterator + `"}`
	sum := sha256.Sum256([]byte(body))
	request := func() []byte {
		req, _ := http.NewRequest(http.MethodPost, ts.url+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Kinesis_20131202.GetRecords")
		if err := v4.NewSigner().SignHTTP(ctx, mallory, req, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		req.Write(&b)
		return b.Bytes()
	}
	// One answer, read: how large they are.
	probe := dialAttack(t, ts.url)
	probe.Write(request())
	if ans := probe.readAnswer(); ans.status != 200 || ans.read < 13_000_000 {
		t.Fatalf("GetRecords of 10 MiB: %d %s, %d bytes, %v", ans.status, ans.typ, ans.read, ans.err)
	}

	base := rss(t)
	peak := base
	stopRSS := make(chan struct{})
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		for {
			select {
			case <-stopRSS:
				return
			case <-time.After(20 * time.Millisecond):
			}
			peak = max(peak, rss(t))
		}
	}()
	var slow []*attackConn
	var fast atomic.Bool
	for range 40 {
		a := dialAttack(t, ts.url)
		a.Write(request())
		go func() { a.done <- a.readAnswerSlowly(&fast) }()
		slow = append(slow, a)
	}
	timer := make(chan struct{})
	time.AfterFunc(window, func() { close(timer) })
	calls, slowest, err := served(ts, "victim", timer)
	if err != nil {
		t.Fatalf("a well-behaved client was refused during the attack after %d calls: %v", calls, err)
	}
	if slowest > 2*time.Second {
		t.Errorf("a well-behaved client waited %v for a call during the attack", slowest)
	}
	close(stopRSS)
	<-rssDone
	// Now read what is left at full speed. Each slow reader got a refusal,
	// or an answer cut short by the write deadline (what the kernel had
	// buffered, then the end), or a whole one: admitted when a cut made
	// room, its deadline not yet passed.
	fast.Store(true)
	refused, cut, later := 0, 0, 0
	for _, a := range slow {
		a.SetReadDeadline(time.Now().Add(5 * time.Second))
		ans := <-a.done
		switch {
		case ans.status == 503 && ans.typ == "ServiceUnavailable":
			refused++
		case ans.status == 200 && ans.err != nil && ans.read < 13_000_000:
			cut++
		case ans.status == 200 && ans.err == nil:
			later++
		default:
			t.Errorf("slow reader: %d %s, %d bytes, %v after %v", ans.status, ans.typ, ans.read, ans.err, ans.at)
		}
	}
	grew := peak - base
	t.Logf("well-behaved client: %d calls, slowest %v; slow readers: %d refused, %d cut by the write deadline, %d admitted later; RSS %d MiB idle, %d MiB at peak (+%d MiB)",
		calls, slowest, refused, cut, later, base>>20, peak>>20, grew>>20)
	if refused == 0 || cut == 0 {
		t.Errorf("of 40 slow readers %d were refused and %d cut by the write deadline; want both", refused, cut)
	}
	if bound := int64(2 * inflight * raceOverhead); grew > bound {
		t.Errorf("RSS grew by %d MiB under 40 slow readers, over the bound of 2 × inflightBytes (%d MiB, × %d under the race detector)", grew>>20, bound>>20, raceOverhead)
	}
}
