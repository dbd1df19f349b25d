package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// session is one signed-in browser: a random id (the cookie), a CSRF token
// the page sends back in a header on every mutating request, the principal
// every action runs as, and its expiry.
type session struct {
	id      string
	csrf    string
	p       Principal
	created time.Time
	seen    time.Time
}

// sessions is the server-side session table. It is bounded (max entries:
// creating one more evicts the least recently used) and every session
// expires after idle without use or life after creation, whichever comes
// first. Safe for concurrent use.
type sessions struct {
	idle, life time.Duration
	max        int
	now        func() time.Time

	mu   sync.Mutex
	byID map[string]*session // guarded by mu
}

func newSessions(idle, life time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{idle: idle, life: life, max: max, now: now, byID: map[string]*session{}}
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for p and returns a copy of it.
func (s *sessions) create(p Principal) session {
	now := s.now()
	ss := &session{id: randomToken(), csrf: randomToken(), p: p, created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	for len(s.byID) >= s.max {
		var oldest *session
		for _, c := range s.byID {
			if oldest == nil || c.seen.Before(oldest.seen) {
				oldest = c
			}
		}
		delete(s.byID, oldest.id)
	}
	s.byID[ss.id] = ss
	return *ss
}

// get returns the live session with the id and marks it used.
func (s *sessions) get(id string) (session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	if s.expired(ss, now) {
		delete(s.byID, id)
		return session{}, false
	}
	ss.seen = now
	return *ss, true
}

// remove ends the session (logout).
func (s *sessions) remove(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

// len is the number of sessions held (expired ones included until swept).
func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.seen) >= s.idle || now.Sub(ss.created) >= s.life
}

// expireLocked drops every expired session; s.mu is held.
func (s *sessions) expireLocked(now time.Time) {
	for id, ss := range s.byID {
		if s.expired(ss, now) {
			delete(s.byID, id)
		}
	}
}

// csrfOK reports whether token is the session's CSRF token (in constant
// time; an empty token never matches).
func (ss session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ss.csrf)) == 1
}
