package videoplay

import (
	"strings"
	"testing"
	"time"
)

func testSealer(t *testing.T) *sealer {
	t.Helper()
	s, err := newSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTokenRoundTrip: a token opens to its session until it expires.
func TestTokenRoundTrip(t *testing.T) {
	s := testSealer(t)
	now := time.Unix(1767225600, 0)
	in := &session{Kind: "hls", ARN: "arn:x", Mode: ModeOnDemand, Start: 1, End: 2, Max: 1000, Expires: now.Unix() + 300}
	tok := s.issue(in, now)
	got, err := s.open(tok, now.Add(299*time.Second))
	if err != nil || *got != *in {
		t.Fatalf("open: %+v %v", got, err)
	}
	if _, err := s.open(tok, now.Add(300*time.Second)); err != errBadToken {
		t.Fatalf("expired token: %v", err)
	}
}

// TestTokenTampered: any change to a token, or another server's secret,
// refuses it.
func TestTokenTampered(t *testing.T) {
	s := testSealer(t)
	now := time.Unix(1767225600, 0)
	tok := s.issue(&session{Kind: "hls", ARN: "arn:x", Expires: now.Unix() + 300}, now)
	for i := 0; i < len(tok); i++ {
		c := byte('A')
		if tok[i] == 'A' {
			c = 'B'
		}
		bad := tok[:i] + string(c) + tok[i+1:]
		if _, err := s.open(bad, now); err == nil {
			t.Fatalf("a token changed at %d opened", i)
		}
	}
	for _, bad := range []string{"", "AAAA", strings.Repeat("A", 80), tok + "A", tok[:len(tok)-2]} {
		if _, err := s.open(bad, now); err == nil {
			t.Fatalf("%q opened", bad)
		}
	}
	other, _ := newSealer([]byte("another secret of thirty-two byt"))
	if _, err := other.open(tok, now); err == nil {
		t.Fatal("another secret opened the token")
	}
}

// TestSessionsRevoked: the eleventh session of a stream revokes the
// first; other streams are untouched; streams whose sessions all expired
// are forgotten.
func TestSessionsRevoked(t *testing.T) {
	s := testSealer(t)
	now := time.Unix(1767225600, 0)
	var toks []string
	for i := 0; i < maxSessions+1; i++ {
		toks = append(toks, s.issue(&session{ARN: "arn:a", Expires: now.Unix() + 300}, now))
	}
	other := s.issue(&session{ARN: "arn:b", Expires: now.Unix() + 60}, now)
	if _, err := s.open(toks[0], now); err != errBadToken {
		t.Fatalf("the oldest session is not revoked: %v", err)
	}
	for _, tok := range append(toks[1:], other) {
		if _, err := s.open(tok, now); err != nil {
			t.Fatal(err)
		}
	}
	s.issue(&session{ARN: "arn:c", Expires: now.Unix() + 600}, now.Add(120*time.Second))
	if _, ok := s.recent["arn:b"]; ok {
		t.Fatal("a stream whose sessions expired is still remembered")
	}
}
