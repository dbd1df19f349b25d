package console

import (
	"net"
	"sync"
	"time"
)

// loginThrottle slows password guessing: a client address with
// loginFailures failed logins within loginWindow is refused (429) until the
// window passes. Bounded: at most maxThrottled addresses are tracked (the
// table is cleared of stale entries, then of everything, when full). Safe
// for concurrent use.
type loginThrottle struct {
	now func() time.Time

	mu    sync.Mutex
	fails map[string]*failures // by client IP; guarded by mu
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

func clientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// allowed reports whether the address may try to log in now.
func (l *loginThrottle) allowed(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[clientIP(addr)]
	return f == nil || f.n < loginFailures || l.now().Sub(f.first) >= loginWindow
}

// failed records a failed login from the address.
func (l *loginThrottle) failed(addr string) {
	now := l.now()
	ip := clientIP(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[ip]
	if f == nil || now.Sub(f.first) >= loginWindow {
		if len(l.fails) >= maxThrottled {
			for k, v := range l.fails {
				if now.Sub(v.first) >= loginWindow {
					delete(l.fails, k)
				}
			}
			if len(l.fails) >= maxThrottled {
				clear(l.fails)
			}
		}
		f = &failures{first: now}
		l.fails[ip] = f
	}
	f.n++
}

// succeeded forgets the address's failures.
func (l *loginThrottle) succeeded(addr string) {
	l.mu.Lock()
	delete(l.fails, clientIP(addr))
	l.mu.Unlock()
}
