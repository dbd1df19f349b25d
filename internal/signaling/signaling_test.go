package signaling

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var ch = ChannelInfo{ARN: "arn:aws:kinesisvideo:us-east-1:000000000000:channel/cam/1", Name: "cam", TTL: 60 * time.Second}

func newHub(t *testing.T) (*Hub, *clock) {
	clk := &clock{t: time.Unix(1767225600, 0)}
	return New(Config{Now: clk.Now}), clk
}

func connect(t *testing.T, h *Hub, role Role, id string) *Conn {
	t.Helper()
	c, err := h.Connect(ch, role, id)
	if err != nil {
		t.Fatalf("Connect %s %s: %v", role, id, err)
	}
	t.Cleanup(c.Close)
	return c
}

func recv(t *testing.T, c *Conn) Message {
	t.Helper()
	select {
	case m := <-c.Out():
		return m
	default:
		t.Fatalf("no message for %s %q", c.role, c.id)
		return Message{}
	}
}

func none(t *testing.T, c *Conn) {
	t.Helper()
	select {
	case m := <-c.Out():
		t.Fatalf("unexpected message for %s %q: %+v", c.role, c.id, m)
	default:
	}
}

func wantKind(t *testing.T, err error, k Kind, part string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind != k || !strings.Contains(e.Msg, part) {
		t.Fatalf("got %v, want kind %d with %q", err, k, part)
	}
}

func TestRouting(t *testing.T) {
	h, clk := newHub(t)
	m := connect(t, h, Master, "")
	clk.Add(time.Second)
	v1 := connect(t, h, Viewer, "v1")
	v2 := connect(t, h, Viewer, "v2")
	if err := v1.Send(Inbound{Action: SDPOffer, Payload: "b2ZmZXI=", RecipientClientID: "ignored"}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, m); got.Type != SDPOffer || got.SenderClientID != "v1" || got.Payload != "b2ZmZXI=" {
		t.Fatalf("master got %+v", got)
	}
	if err := m.Send(Inbound{Action: SDPAnswer, RecipientClientID: "v1", Payload: "YW5zd2Vy"}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, v1); got.Type != SDPAnswer || got.SenderClientID != "" || got.Payload != "YW5zd2Vy" {
		t.Fatalf("viewer got %+v", got)
	}
	none(t, v2)
	wantKind(t, m.Send(Inbound{Action: ICECandidate, Payload: "x"}), KindInvalidArgument, "recipientClientId is required")
	wantKind(t, m.Send(Inbound{Action: "HELLO", RecipientClientID: "v1", Payload: "x"}), KindInvalidArgument, "Unknown action")
	wantKind(t, v1.Send(Inbound{Action: ICECandidate, Payload: strings.Repeat("A", 10241)}), KindInvalidArgument, "maximum size of 10240")
	if err := v1.Send(Inbound{Action: ICECandidate, Payload: strings.Repeat("A", 10240)}); err != nil {
		t.Fatalf("10 KB payload: %v", err)
	}
}

// TestQueueTTL: a message to a recipient that is not connected waits for
// the channel's TTL: delivered when it connects within it, dropped after.
func TestQueueTTL(t *testing.T) {
	h, clk := newHub(t)
	v := connect(t, h, Viewer, "v1")
	if err := v.Send(Inbound{Action: SDPOffer, Payload: "MQ=="}); err != nil {
		t.Fatal(err)
	}
	if err := v.Send(Inbound{Action: ICECandidate, Payload: "Mg=="}); err != nil {
		t.Fatal(err)
	}
	clk.Add(59 * time.Second)
	h.Tick()
	m := connect(t, h, Master, "")
	if a, b := recv(t, m), recv(t, m); a.Payload != "MQ==" || b.Payload != "Mg==" || a.SenderClientID != "v1" {
		t.Fatalf("queued: %+v %+v", a, b)
	}
	// Master to an absent viewer, past the TTL.
	if err := m.Send(Inbound{Action: SDPAnswer, RecipientClientID: "late", Payload: "Mw=="}); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.Queued != 1 {
		t.Fatalf("stats %+v", st)
	}
	clk.Add(60 * time.Second)
	h.Tick()
	if st := h.Stats(); st.Queued != 0 {
		t.Fatalf("after TTL: %+v", st)
	}
	late := connect(t, h, Viewer, "late")
	none(t, late)
}

func TestReplacement(t *testing.T) {
	h, clk := newHub(t)
	m1 := connect(t, h, Master, "")
	v1 := connect(t, h, Viewer, "v1")
	clk.Add(time.Second)
	m2 := connect(t, h, Master, "")
	select {
	case <-m1.Done():
	default:
		t.Fatal("old master still open")
	}
	if !errors.Is(m1.Reason(), ErrReplaced) {
		t.Fatalf("reason %v", m1.Reason())
	}
	if err := v1.Send(Inbound{Action: SDPOffer, Payload: "eA=="}); err != nil {
		t.Fatal(err)
	}
	recv(t, m2)
	none(t, m1)
	v1b := connect(t, h, Viewer, "v1")
	if !errors.Is(v1.Reason(), ErrReplaced) {
		t.Fatalf("viewer reason %v", v1.Reason())
	}
	m2.Send(Inbound{Action: SDPAnswer, RecipientClientID: "v1", Payload: "eQ=="})
	recv(t, v1b)
	// Closing the replaced connection does not remove its successor.
	m1.Close()
	v1.Close()
	if st := h.Stats(); st.Connections != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestQuotas(t *testing.T) {
	h, clk := newHub(t)
	// 3 connections per second per channel.
	connect(t, h, Master, "")
	connect(t, h, Viewer, "v0")
	connect(t, h, Viewer, "v1")
	_, err := h.Connect(ch, Viewer, "v2")
	wantKind(t, err, KindClientLimit, "at most 3 connections per second")
	// 10 viewers.
	for i := 2; i < 10; i++ {
		clk.Add(time.Second)
		connect(t, h, Viewer, "v"+string(rune('0'+i)))
	}
	clk.Add(time.Second)
	_, err = h.Connect(ch, Viewer, "v10")
	wantKind(t, err, KindClientLimit, "limit of 10 connected viewers")
	// A known viewer id reconnecting replaces; it is not an 11th viewer.
	connect(t, h, Viewer, "v3")
	// Client ids.
	_, err = h.Connect(ch, Viewer, "")
	wantKind(t, err, KindInvalidArgument, "X-Amz-ClientId is required")
	_, err = h.Connect(ch, Viewer, "AWS_x")
	wantKind(t, err, KindInvalidArgument, "must not start with AWS_")

	// 5 SDP and 20 ICE messages per second per connection.
	clk.Add(time.Second)
	v := connect(t, h, Viewer, "v3")
	for i := 0; i < 5; i++ {
		if err := v.Send(Inbound{Action: SDPOffer, Payload: "eA=="}); err != nil {
			t.Fatalf("offer %d: %v", i, err)
		}
	}
	wantKind(t, v.Send(Inbound{Action: SDPOffer, Payload: "eA=="}), KindClientLimit, "limit of 5 SDP messages per second")
	for i := 0; i < 20; i++ {
		if err := v.Send(Inbound{Action: ICECandidate, Payload: "eA=="}); err != nil {
			t.Fatalf("candidate %d: %v", i, err)
		}
	}
	wantKind(t, v.Send(Inbound{Action: ICECandidate, Payload: "eA=="}), KindClientLimit, "limit of 20 ICE candidate messages per second")
	clk.Add(200 * time.Millisecond)
	if err := v.Send(Inbound{Action: SDPOffer, Payload: "eA=="}); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}

func TestLifetimeAndIdle(t *testing.T) {
	h, clk := newHub(t)
	m := connect(t, h, Master, "")
	clk.Add(time.Second)
	v := connect(t, h, Viewer, "v")
	// Idle: the master sends nothing for 10 minutes.
	for i := 0; i < 9; i++ {
		clk.Add(time.Minute)
		v.Send(Inbound{Action: ICECandidate, Payload: "eA=="})
		h.Tick()
	}
	clk.Add(time.Minute)
	h.Tick()
	if !errors.Is(m.Reason(), ErrIdle) {
		t.Fatalf("master reason %v", m.Reason())
	}
	// The viewer keeps talking: GO_AWAY a minute before the hour, closed at it.
	for clk.Now().Sub(v.connectedAt) < 59*time.Minute {
		clk.Add(time.Minute)
		v.Send(Inbound{Action: ICECandidate, Payload: "eA=="})
		h.Tick()
	}
	if v.Reason() != nil {
		t.Fatalf("closed early: %v", v.Reason())
	}
	var goAway bool
	for len(v.Out()) > 0 {
		goAway = goAway || (<-v.Out()).Type == GoAway
	}
	if !goAway {
		t.Fatal("no GO_AWAY before the maximum duration")
	}
	clk.Add(time.Minute)
	h.Tick()
	if !errors.Is(v.Reason(), ErrMaxDuration) {
		t.Fatalf("viewer reason %v", v.Reason())
	}
}

func TestOffer(t *testing.T) {
	h, _ := newHub(t)
	m := connect(t, h, Master, "")
	go func() {
		msg := <-m.Out()
		m.Send(Inbound{Action: SDPAnswer, RecipientClientID: msg.SenderClientID, Payload: "YW5zd2Vy"})
	}()
	a, err := h.Offer(context.Background(), ch, "alexa", "b2ZmZXI=")
	if err != nil || a != "YW5zd2Vy" {
		t.Fatalf("answer %q %v", a, err)
	}
}

func TestShutdownWaitsForOwners(t *testing.T) {
	h, _ := newHub(t)
	c, err := h.Connect(ch, Master, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	cancel()
	<-c.Done()
	if (<-c.Out()).Type != GoAway || !errors.Is(c.Reason(), ErrShutdown) {
		t.Fatal("no GO_AWAY at shutdown")
	}
	select {
	case <-done:
		t.Fatal("Run returned before the connection was closed")
	case <-time.After(10 * time.Millisecond):
	}
	c.Close()
	<-done
	if _, err := h.Connect(ch, Master, ""); !errors.Is(err, ErrShutdown) {
		t.Fatalf("connect after shutdown: %v", err)
	}
}

// TestPeers: the connected clients of a channel, master first, viewers by
// client id, each with when it connected; a closed one is gone.
func TestPeers(t *testing.T) {
	h, clk := newHub(t)
	connect(t, h, Viewer, "v2")
	clk.Add(time.Second)
	connect(t, h, Master, "")
	v1 := connect(t, h, Viewer, "v1")
	got := h.Peers()
	if len(got) != 3 || got[0].Role != Master || got[0].ClientID != "" || got[1].ClientID != "v1" || got[2].ClientID != "v2" ||
		got[0].ChannelARN != ch.ARN || !got[2].ConnectedAt.Equal(time.Unix(1767225600, 0)) || !got[1].ConnectedAt.Equal(time.Unix(1767225601, 0)) {
		t.Fatalf("peers %+v", got)
	}
	v1.Close()
	if got := h.Peers(); len(got) != 2 || got[1].ClientID != "v2" {
		t.Fatalf("after v1 closed: %+v", got)
	}
}
