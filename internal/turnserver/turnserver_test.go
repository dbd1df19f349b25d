package turnserver

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

// allocate asks the server for a relay with the credentials.
func allocate(t *testing.T, s *Server, user, pass string) (net.Addr, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: s.Addr(), TURNServerAddr: s.Addr(), Username: user, Password: pass,
		Realm: Realm, Conn: conn, RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	// STUN needs no credentials.
	if mapped, err := c.SendBindingRequest(); err != nil || !strings.HasPrefix(mapped.String(), "127.0.0.1:") {
		t.Fatalf("binding: %v %v", mapped, err)
	}
	relay, err := c.Allocate()
	if err != nil {
		return nil, err
	}
	defer relay.Close()
	return relay.LocalAddr(), nil
}

func TestCredentials(t *testing.T) {
	var now atomic.Int64
	now.Store(1767225600)
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	s, err := Listen(Config{Addr: "127.0.0.1:0", RelayMinPort: 40000, RelayMaxPort: 40100, Secret: []byte("k"), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	user, pass := s.Credentials("cam.viewer-1", 300*time.Second)
	if user != "1767225900:cam.viewer-1" || strings.ContainsAny(pass, "+/=") {
		t.Fatalf("credentials %q %q", user, pass)
	}
	if err := s.Check(user, pass); err != nil {
		t.Fatal(err)
	}
	relay, err := allocate(t, s, user, pass)
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	if a := relay.(*net.UDPAddr); !a.IP.Equal(net.IPv4(127, 0, 0, 1)) || a.Port < 40000 || a.Port > 40100 {
		t.Fatalf("relay %v outside the range", relay)
	}
	if _, err := allocate(t, s, user, pass+"x"); err == nil {
		t.Fatal("wrong password allocated")
	}
	if _, err := allocate(t, s, "1767225900:other", pass); err == nil {
		t.Fatal("another user's password allocated")
	}
	now.Add(301)
	if err := s.Check(user, pass); err != ErrExpired {
		t.Fatalf("expired: %v", err)
	}
	if _, err := allocate(t, s, user, pass); err == nil {
		t.Fatal("expired credential allocated")
	}
	if got := s.TURNURIs(); len(got) != 2 || got[0] != "turn:"+s.Addr()+"?transport=udp" || got[1] != "turn:"+s.Addr()+"?transport=tcp" {
		t.Fatalf("uris %v", got)
	}
}

func TestListenRefusesWildcardWithoutPublicIP(t *testing.T) {
	if _, err := Listen(Config{Addr: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "public IP") {
		t.Fatalf("err %v", err)
	}
	s, err := Listen(Config{Addr: "0.0.0.0:0", PublicIP: "127.0.0.1", NoTCP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || len(s.TURNURIs()) != 1 {
		t.Fatalf("addr %s uris %v", s.Addr(), s.TURNURIs())
	}
}
