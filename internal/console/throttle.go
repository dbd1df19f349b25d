package console

import (
	"net"
	"sync"
	"time"
)

// loginThrottle slows password guessing: a client with loginFailures
// attempts within loginWindow (without a success) is refused (429) until
// the window passes. An attempt is counted before the secret is checked,
// so parallel guesses cannot pass the check together. A client is an IPv4
// address or an IPv6 /64 (one host usually holds a whole /64). Bounded: at
// most maxThrottled clients are tracked; when the table is full of clients
// within their window, new clients are refused until entries go stale
// (failing closed rather than forgetting an attacker). Safe for concurrent
// use.
type loginThrottle struct {
	now func() time.Time

	mu    sync.Mutex
	fails map[string]*failures // by clientKey; guarded by mu
}

type failures struct {
	n     int
	first time.Time
}

const (
	loginFailures = 10
	loginWindow   = time.Minute
	maxThrottled  = 4096
)

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, fails: map[string]*failures{}}
}

// clientKey is the throttled unit of a remote address: the IPv4 address,
// or the /64 of an IPv6 one.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// attempt reserves a login attempt for the address; false when it has
// used its attempts within the window.
func (l *loginThrottle) attempt(addr string) bool {
	now := l.now()
	key := clientKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[key]
	if f == nil || now.Sub(f.first) >= loginWindow {
		if f == nil && len(l.fails) >= maxThrottled {
			for k, v := range l.fails {
				if now.Sub(v.first) >= loginWindow {
					delete(l.fails, k)
				}
			}
			if len(l.fails) >= maxThrottled {
				return false
			}
		}
		f = &failures{first: now}
		l.fails[key] = f
	}
	if f.n >= loginFailures {
		return false
	}
	f.n++
	return true
}

// succeeded forgets the address's attempts.
func (l *loginThrottle) succeeded(addr string) {
	l.mu.Lock()
	delete(l.fails, clientKey(addr))
	l.mu.Unlock()
}
