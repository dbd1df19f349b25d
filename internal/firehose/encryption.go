package firehose

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/rheos/rheos/internal/envelope"
)

// Server-side encryption of a DirectPut stream's buffer, with the envelope
// encryption Data Streams uses: StartDeliveryStreamEncryption creates a data
// key under the stream's key (AWS_OWNED_CMK: alias/aws/firehose; or the
// customer's KeyARN) with the stream ARN as encryption context, stored
// wrapped in the stream's metadata; records put afterwards are sealed with
// AES-256-GCM (the stream ARN as associated data) before they reach the
// log, and opened only to be delivered. Records buffered before stay as
// they were written.

// FlagEncrypted marks a buffered record whose data is sealed.
const FlagEncrypted uint8 = 1

// awsOwnedKey is the key id of AWS_OWNED_CMK.
const awsOwnedKey = "alias/aws/firehose"

type dataKeyCache struct {
	mu   sync.Mutex
	keys map[string][]byte // "<arn>#<id>" → plaintext data key
}

func encContext(arn string) map[string]string { return map[string]string{"aws:firehose:arn": arn} }

// newDataKey creates a data key for a stream and returns it wrapped.
func (s *Service) newDataKey(ctx context.Context, m *streamMeta, keyType, keyARN string) ([]byte, error) {
	if s.cfg.Keys == nil {
		return nil, errorf(KindInvalidArgument, "Server-side encryption needs a key provider on this server.")
	}
	keyID := awsOwnedKey
	if keyType == "CUSTOMER_MANAGED_CMK" {
		keyID = keyARN
	}
	_, wrapped, err := s.cfg.Keys.GenerateDataKey(ctx, keyID, encContext(m.arn()))
	if err != nil {
		return nil, &Error{Kind: KindInvalidArgument, Msg: "The key " + keyID + " cannot be used: " + err.Error(), Err: err}
	}
	return wrapped, nil
}

func (s *Service) dataKey(ctx context.Context, m *streamMeta, id uint32) ([]byte, error) {
	ck := m.arn() + "#" + strconv.FormatUint(uint64(id), 10)
	s.dks.mu.Lock()
	dk := s.dks.keys[ck]
	s.dks.mu.Unlock()
	if dk != nil {
		return dk, nil
	}
	if id == 0 || int(id) > len(m.DataKeys) || s.cfg.Keys == nil {
		return nil, errors.New("firehose: unknown data key")
	}
	dk, err := s.cfg.Keys.Decrypt(ctx, m.DataKeys[id-1], encContext(m.arn()))
	if err != nil {
		return nil, err
	}
	s.dks.mu.Lock()
	if s.dks.keys == nil {
		s.dks.keys = map[string][]byte{}
	}
	s.dks.keys[ck] = dk
	s.dks.mu.Unlock()
	return dk, nil
}

// seal encrypts records for the buffer when the stream is encrypted; it
// returns the flags to store them with.
func (s *Service) seal(ctx context.Context, m *streamMeta, records [][]byte) ([][]byte, uint8, error) {
	if m.Encryption != "ENABLED" || len(m.DataKeys) == 0 {
		return records, 0, nil
	}
	id := uint32(len(m.DataKeys))
	dk, err := s.dataKey(ctx, m, id)
	if err != nil {
		return nil, 0, &Error{Kind: KindInvalidArgument, Msg: "The stream's key cannot be used.", Err: err}
	}
	out := make([][]byte, len(records))
	for i, r := range records {
		sealed, err := envelope.Seal(make([]byte, 0, len(r)+32), dk, id, r, []byte(m.arn()))
		if err != nil {
			return nil, 0, internal("encryption failed", err)
		}
		out[i] = sealed
	}
	return out, FlagEncrypted, nil
}

// openRecords decrypts what was read from the buffer, and stops at the first
// record whose key cannot be used (KMS down): the rest is read again later.
func (s *Service) openRecords(ctx context.Context, m *streamMeta, recs []LogRecord) []LogRecord {
	for i := range recs {
		if recs[i].Flags&FlagEncrypted == 0 {
			continue
		}
		d, err := s.open(ctx, m, recs[i])
		if err != nil {
			s.cfg.Logger.Warn("firehose: decrypting the buffer", "stream", m.Name, "err", err)
			return recs[:i]
		}
		recs[i].Data, recs[i].Flags = d, 0
	}
	return recs
}

// open decrypts a buffered record if it was sealed.
func (s *Service) open(ctx context.Context, m *streamMeta, r LogRecord) ([]byte, error) {
	if r.Flags&FlagEncrypted == 0 {
		return r.Data, nil
	}
	id, ok := envelope.KeyRef(r.Data)
	if !ok {
		return nil, errors.New("firehose: damaged encrypted record")
	}
	dk, err := s.dataKey(ctx, m, id)
	if err != nil {
		return nil, err
	}
	return envelope.Open(dk, r.Data, []byte(m.arn()))
}
