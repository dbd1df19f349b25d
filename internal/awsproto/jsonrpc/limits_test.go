package jsonrpc

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
)

const testAuth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc"

// rawHead is the head of a request to Test_1.Op announcing length bytes.
func rawHead(op, auth string, length int) string {
	h := "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + ContentJSON + "\r\nX-Amz-Target: Test_1." + op + "\r\nX-Amz-Date: 20260101T000000Z\r\n"
	if auth != "" {
		h += "Authorization: " + auth + "\r\n"
	}
	return h + "Content-Length: " + strconv.Itoa(length) + "\r\n\r\n"
}

// post sends a small request and returns the status and error type.
func post(t *testing.T, url, op string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"Records":[{"PartitionKey":"p","Data":"AA=="}]}`))
	for k, v := range map[string]string{"Content-Type": ContentJSON, "X-Amz-Target": "Test_1." + op, "X-Amz-Date": "20260101T000000Z", "Authorization": testAuth} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType")
}

// TestFrontTricklingBodies: clients that announce bodies of the whole
// budget and trickle them hold only what they sent (others are served), and
// are cut once they fall below the minimum data rate after the grace
// period, long before the body timeout.
func TestFrontTricklingBodies(t *testing.T) {
	env := &awsproto.Env{Budget: awsproto.NewBudget(4<<20, 4<<20), BodyGrace: 300 * time.Millisecond, MinDataRate: 64 << 10}
	front := newFrontEnv(env, &Service{
		SigningName: "kinesis", TargetPrefix: "Test_1",
		Operations: map[string]*Operation{"Op": {
			Input: testSchema(), MaxBody: 16 << 20,
			Handle: func(context.Context, *awsproto.Call) (any, error) { return map[string]string{"ok": "yes"}, nil },
		}},
	})
	srv := httptest.NewServer(front)
	defer srv.Close()
	var conns []net.Conn
	for range 8 { // 8 × 16 MiB announced: 32 times the budget
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, rawHead("Op", testAuth, 16<<20)+`{"Records":[`)
		conns = append(conns, c)
	}
	time.Sleep(50 * time.Millisecond)
	if st, typ := post(t, srv.URL, "Op"); st != 200 {
		t.Fatalf("with 8 trickling bodies announced: %d %s", st, typ)
	}
	start := time.Now()
	for _, c := range conns {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("a trickling body was never cut: %v", err)
		}
		if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != awserr.Serialization.Name || !resp.Close {
			t.Errorf("a trickling body: %d %s (close %v)", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), resp.Close)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("trickling bodies cut after %v, want about the grace period", took)
	}
}

// TestFrontPrecheck: a request the precheck refuses is answered without
// its body being read or budgeted, and its connection closes.
func TestFrontPrecheck(t *testing.T) {
	var called atomic.Bool
	env := &awsproto.Env{Budget: awsproto.NewBudget(1<<20, 0), Precheck: func(r *http.Request, service string) (string, *awserr.Error) {
		if sc := awsproto.ScopeOf(r); sc.AccessKey != "AKID" || service != "kinesis" {
			return "", awserr.New(awserr.UnrecognizedClient, "The security token included in the request is invalid.")
		}
		return "AKID", nil
	}}
	front := newFrontEnv(env, &Service{
		SigningName: "kinesis", TargetPrefix: "Test_1",
		Operations: map[string]*Operation{"Op": {
			Input: testSchema(), MaxBody: 16 << 20,
			Handle: func(context.Context, *awsproto.Call) (any, error) { called.Store(true); return nil, nil },
		}},
	})
	srv := httptest.NewServer(front)
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, rawHead("Op", strings.Replace(testAuth, "AKID/", "NOBODY/", 1), 16<<20))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a refused precheck before the body: %v", err)
	}
	if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != awserr.UnrecognizedClient.Name || !resp.Close {
		t.Errorf("refused precheck: %d %s (close %v)", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), resp.Close)
	}
	io.Copy(io.Discard, resp.Body)
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection open after a refused precheck: %v", err)
	}
	if st, _ := post(t, srv.URL, "Op"); st != 200 || !called.Load() {
		t.Errorf("a request passing the precheck: %d (handled %v)", st, called.Load())
	}
}

// TestFrontSlowReaders: answers count against the caller's share while
// they are written; an operation's reservation that finds the share full is
// refused with a retryable 503 before its handler runs; a client that does
// not take its answer is cut by the write deadline, which frees its share.
func TestFrontSlowReaders(t *testing.T) {
	const answer = 8 << 20
	big := awsproto.RawJSON(`{"Data":"` + strings.Repeat("A", answer) + `"}`)
	var handled atomic.Int32
	env := &awsproto.Env{Budget: awsproto.NewBudget(64<<20, 20<<20), WriteTimeout: 6 * time.Second, MinDataRate: 16 << 20}
	front := newFrontEnv(env, &Service{
		SigningName: "kinesis", TargetPrefix: "Test_1",
		Operations: map[string]*Operation{"Big": {
			Input: testSchema(), MaxResponse: answer + 1<<10,
			Handle: func(context.Context, *awsproto.Call) (any, error) { handled.Add(1); return big, nil },
		}},
	})
	srv := httptest.NewServer(front)
	defer srv.Close()
	dial := func() net.Conn {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			// A small receive window, so the kernel does not take the
			// answer in the client's stead.
			return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		c, err := d.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	body := `{"Records":[{"PartitionKey":"p","Data":"AA=="}]}`
	var slow []net.Conn
	sent := time.Now()
	for range 2 { // two answers of 8 MiB fill the 20 MiB share (the kernel takes up to 4 MiB of each)
		c := dial()
		defer c.Close()
		io.WriteString(c, rawHead("Big", testAuth, len(body))+body)
		slow = append(slow, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for handled.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	// The third finds the share full and, after waiting 5 s for room, is
	// refused without being handled.
	st, typ := post(t, srv.URL, "Big")
	if st != 503 || typ != awserr.ServiceUnavailable.Name || handled.Load() != 2 {
		t.Errorf("a third large answer while two are unread: %d %s (handled %d)", st, typ, handled.Load())
	}
	// The write deadline (6 s + 8 MiB at 16 MiB/s) cuts the slow readers:
	// once it has passed, what they read ends short.
	time.Sleep(time.Until(sent.Add(7 * time.Second)))
	for _, c := range slow {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, c)
		if err != nil && !strings.Contains(err.Error(), "reset") {
			t.Errorf("slow reader: %v", err)
		}
		if n >= answer {
			t.Errorf("a slow reader received the whole answer (%d bytes): no write deadline", n)
		}
	}
	if st, typ := post(t, srv.URL, "Big"); st != 200 {
		t.Errorf("after the slow readers were cut: %d %s", st, typ)
	}
}
