package videoplay

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// A playback session is carried whole in its SessionToken: the session's
// parameters as JSON, sealed with AES-256-GCM under a key derived from
// the server's session secret (kept in the metadata store, so tokens
// survive restarts):
//
//	token = base64url( version(1) | nonce(12) | GCM(key, nonce, json, aad=version) )
//
// A token cannot be forged or altered without the secret; it names its
// expiry, checked on every request. Revocation (at most maxSessions per
// stream, the oldest revoked) is kept in memory, so a restart forgets it.

// tokenVersion is the first byte of a token (part of the format).
const tokenVersion = 1

// maxSessions is AWS's limit of active sessions per stream; a new one
// revokes the oldest.
const maxSessions = 10

// errBadToken: the token does not open, has expired or was revoked.
var errBadToken = errors.New("videoplay: session token not valid")

// session is what a token carries.
type session struct {
	ID        int64  `json:"i"` // unix ns of issue, unique per server
	Kind      string `json:"k"` // "hls" or "dash"
	Account   string `json:"a"`
	Region    string `json:"r"`
	ARN       string `json:"s"`
	Mode      string `json:"m"`
	Selector  string `json:"t"`           // PRODUCER_TIMESTAMP or SERVER_TIMESTAMP
	Start     int64  `json:"b,omitempty"` // unix ms, 0 = none
	End       int64  `json:"e,omitempty"`
	Container string `json:"c,omitempty"` // FRAGMENTED_MP4 or MPEG_TS
	Disc      string `json:"d,omitempty"` // ALWAYS, NEVER, ON_DISCONTINUITY
	ShowTS    bool   `json:"p,omitempty"` // DisplayFragmentTimestamp ALWAYS
	ShowNum   bool   `json:"n,omitempty"` // DisplayFragmentNumber ALWAYS
	Max       int    `json:"x"`
	Expires   int64  `json:"z"` // unix s
}

// sealer seals and opens tokens and remembers the newest sessions of
// each stream.
type sealer struct {
	aead cipher.AEAD

	mu     sync.Mutex         // guards the fields below
	last   int64              // the newest issued ID
	recent map[string][]entry // stream ARN → its newest sessions, oldest first (≤ maxSessions)
}

type entry struct {
	id      int64
	expires int64
}

func newSealer(secret []byte) (*sealer, error) {
	k := sha256.Sum256(append([]byte("rheos video playback session v1\x00"), secret...))
	blk, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, recent: map[string][]entry{}}, nil
}

// issue assigns the session an ID, records it (revoking the stream's
// oldest beyond maxSessions) and seals it.
func (s *sealer) issue(ss *session, now time.Time) string {
	s.mu.Lock()
	id := now.UnixNano()
	if id <= s.last {
		id = s.last + 1
	}
	s.last = id
	ss.ID = id
	// Forget streams whose sessions have all expired: the map shrinks.
	for arn, es := range s.recent {
		if es[len(es)-1].expires < now.Unix() {
			delete(s.recent, arn)
		}
	}
	es := append(s.recent[ss.ARN], entry{id: id, expires: ss.Expires})
	if len(es) > maxSessions {
		es = es[len(es)-maxSessions:]
	}
	s.recent[ss.ARN] = es
	s.mu.Unlock()

	b, _ := json.Marshal(ss)
	out := make([]byte, 1+12, 1+12+len(b)+16)
	out[0] = tokenVersion
	rand.Read(out[1:13])
	out = s.aead.Seal(out, out[1:13], b, out[:1])
	return base64.RawURLEncoding.EncodeToString(out)
}

// open verifies a token and returns its session.
func (s *sealer) open(tok string, now time.Time) (*session, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1+12+16 || b[0] != tokenVersion {
		return nil, errBadToken
	}
	plain, err := s.aead.Open(nil, b[1:13], b[13:], b[:1])
	if err != nil {
		return nil, errBadToken
	}
	var ss session
	if err := json.Unmarshal(plain, &ss); err != nil {
		return nil, errBadToken
	}
	if now.Unix() >= ss.Expires {
		return nil, errBadToken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if es := s.recent[ss.ARN]; len(es) == maxSessions && ss.ID < es[0].id {
		return nil, errBadToken // revoked by a newer session
	}
	return &ss, nil
}
