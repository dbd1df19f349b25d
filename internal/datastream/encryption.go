package datastream

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/rheos/rheos/internal/envelope"
)

// Encryption at rest: StartStreamEncryption creates a data key wrapped by
// the KeyProvider under the stream's KeyId, with the stream ARN as the
// encryption context, and stores the wrapped key in the stream's metadata.
// Records put while encryption is on are sealed with the newest data key
// (AES-256-GCM, the stream ARN as associated data) before they reach the
// log; reads unwrap the key (cached in memory) and open them. Stopping
// encryption keeps the data keys, so earlier records stay readable.

// dataKeyMeta is a wrapped data key of a stream.
type dataKeyMeta struct {
	ID        uint32 `json:"id"`
	KeyID     string `json:"keyId"`
	Wrapped   []byte `json:"wrapped"`
	CreatedMs int64  `json:"createdMs"`
}

func encContext(arn string) map[string]string { return map[string]string{"aws:kinesis:arn": arn} }

// KMS error kinds (mapped to KMSNotFoundException etc. by the API).
var (
	// ErrKMSNotFound means the key provider does not know the KeyId.
	ErrKMSNotFound = errors.New("kms key not found")
	// ErrKMSAccessDenied means the key provider refused the operation.
	ErrKMSAccessDenied = errors.New("kms access denied")
)

func kmsError(err error) *Error {
	switch {
	case errors.Is(err, ErrKMSNotFound):
		return &Error{Kind: KindKMSNotFound, Msg: err.Error(), Err: err}
	case errors.Is(err, ErrKMSAccessDenied):
		return &Error{Kind: KindKMSAccessDenied, Msg: err.Error(), Err: err}
	}
	return &Error{Kind: KindKMSInvalidState, Msg: "The key provider failed: " + err.Error(), Err: err}
}

// StartStreamEncryption turns encryption on with a new data key.
func (s *Service) StartStreamEncryption(ctx context.Context, sc Scope, name, encType, keyID string) error {
	sc = s.scope(sc)
	if encType != "KMS" {
		return errorf(KindInvalidArgument, "EncryptionType %s is not supported; use KMS.", encType)
	}
	if s.cfg.Keys == nil {
		return errorf(KindKMSInvalidState, "No key provider is configured on this server.")
	}
	arn := streamARN(sc.Region, sc.Account, name)
	return s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if status != StatusActive {
			return notActive(name, sc.Account, status)
		}
		_, wrapped, err := s.cfg.Keys.GenerateDataKey(ctx, keyID, encContext(arn))
		if err != nil {
			return kmsError(err)
		}
		m.DataKeys = append(m.DataKeys, dataKeyMeta{ID: uint32(len(m.DataKeys) + 1), KeyID: keyID, Wrapped: wrapped, CreatedMs: s.now().UnixMilli()})
		m.EncryptionType, m.KeyID = "KMS", keyID
		m.Status, m.TransitionAt = StatusUpdating, s.now().Add(s.cfg.UpdateDelay).UnixMilli()
		return nil
	})
}

// StopStreamEncryption turns encryption off; existing records stay readable.
func (s *Service) StopStreamEncryption(ctx context.Context, sc Scope, name, encType, keyID string) error {
	sc = s.scope(sc)
	if encType != "KMS" {
		return errorf(KindInvalidArgument, "EncryptionType %s is not supported; use KMS.", encType)
	}
	return s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if status != StatusActive {
			return notActive(name, sc.Account, status)
		}
		if m.EncryptionType != "KMS" {
			return errNoChange
		}
		m.EncryptionType, m.KeyID = "NONE", ""
		m.Status, m.TransitionAt = StatusUpdating, s.now().Add(s.cfg.UpdateDelay).UnixMilli()
		return nil
	})
}

// dataKeyPrefix is the prefix of a stream's entries in the data key cache.
func dataKeyPrefix(st *streamState) string {
	return st.arn + "/" + strconv.FormatInt(st.meta.CreatedMs, 10) + "/"
}

// forgetDataKeys drops a removed stream's plaintext data keys from the cache.
func (s *Service) forgetDataKeys(st *streamState) {
	prefix := dataKeyPrefix(st)
	s.dkMu.Lock()
	defer s.dkMu.Unlock()
	for k := range s.dataKeys {
		if strings.HasPrefix(k, prefix) {
			delete(s.dataKeys, k)
		}
	}
}

// dataKey returns the plaintext of a stream's data key id.
func (s *Service) dataKey(ctx context.Context, st *streamState, id uint32) ([]byte, error) {
	cacheKey := dataKeyPrefix(st) + strconv.FormatUint(uint64(id), 10)
	s.dkMu.Lock()
	dk := s.dataKeys[cacheKey]
	s.dkMu.Unlock()
	if dk != nil {
		return dk, nil
	}
	if id == 0 || int(id) > len(st.meta.DataKeys) || s.cfg.Keys == nil {
		return nil, errors.New("datastream: unknown data key")
	}
	dk, err := s.cfg.Keys.Decrypt(ctx, st.meta.DataKeys[id-1].Wrapped, encContext(st.arn))
	if err != nil {
		return nil, err
	}
	s.dkMu.Lock()
	if s.dataKeys == nil {
		s.dataKeys = map[string][]byte{}
	}
	s.dataKeys[cacheKey] = dk
	s.dkMu.Unlock()
	return dk, nil
}

// seal encrypts entries in place when the stream is encrypted.
func (s *Service) seal(ctx context.Context, st *streamState, entries []LogEntry) error {
	if st.meta.EncryptionType != "KMS" || len(st.meta.DataKeys) == 0 {
		return nil
	}
	id := uint32(len(st.meta.DataKeys))
	dk, err := s.dataKey(ctx, st, id)
	if err != nil {
		return kmsError(err)
	}
	aad := []byte(st.arn)
	for i := range entries {
		sealed, err := envelope.Seal(make([]byte, 0, len(entries[i].Data)+32), dk, id, entries[i].Data, aad)
		if err != nil {
			return &Error{Kind: KindInternal, Msg: "encryption failed", Err: err}
		}
		entries[i].Data, entries[i].Flags = sealed, FlagEncrypted
	}
	return nil
}

// open decrypts a stored record if it was sealed.
func (s *Service) open(ctx context.Context, st *streamState, r LogRecord) ([]byte, bool, error) {
	if r.Flags&FlagEncrypted == 0 {
		return r.Data, false, nil
	}
	id, ok := envelope.KeyRef(r.Data)
	if !ok {
		return nil, true, &Error{Kind: KindInternal, Msg: "damaged encrypted record"}
	}
	dk, err := s.dataKey(ctx, st, id)
	if err != nil {
		return nil, true, kmsError(err)
	}
	pt, err := envelope.Open(dk, r.Data, []byte(st.arn))
	if err != nil {
		return nil, true, &Error{Kind: KindInternal, Msg: "decryption failed", Err: err}
	}
	return pt, true, nil
}
