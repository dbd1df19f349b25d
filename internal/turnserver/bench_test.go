package turnserver

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

// BenchmarkRelay: one TURN allocation relays 1,200-byte datagrams (WebRTC's
// usual MTU-sized packets) from the client through the server to a peer
// socket, paced in bursts; reported: the throughput delivered to the peer
// and the share of datagrams lost.
//
//	go test ./internal/turnserver -run '^$' -bench Relay -benchtime 20000x
func BenchmarkRelay(b *testing.B) {
	s, err := Listen(Config{Addr: "127.0.0.1:0", Secret: []byte("k")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	user, pass := s.Credentials("bench", time.Hour)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: s.Addr(), TURNServerAddr: s.Addr(), Username: user, Password: pass,
		Realm: Realm, Conn: conn})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		b.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		b.Fatal(err)
	}
	defer relay.Close()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer peer.Close()
	peer.(*net.UDPConn).SetReadBuffer(8 << 20)
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			peer.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			n, _, err := peer.ReadFrom(buf)
			if err != nil {
				return
			}
			got.Add(int64(n))
		}
	}()
	pkt := make([]byte, 1200)
	// The first datagram installs the permission.
	if _, err := relay.WriteTo(pkt, peer.LocalAddr()); err != nil {
		b.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	got.Store(0)
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := relay.WriteTo(pkt, peer.LocalAddr()); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			time.Sleep(50 * time.Microsecond) // bursts, as a video sender paces
		}
	}
	<-done
	elapsed := time.Since(start) - 500*time.Millisecond
	b.StopTimer()
	b.ReportMetric(float64(got.Load())*8/1e6/elapsed.Seconds(), "delivered-Mbit/s")
	b.ReportMetric(100*(1-float64(got.Load())/float64(b.N*len(pkt))), "lost-%")
}
