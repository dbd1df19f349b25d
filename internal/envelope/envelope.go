// Package envelope owns encryption at rest: AES-256-GCM envelope
// encryption, where records are sealed with data keys and data keys are
// wrapped by master keys held by a KeyProvider (a local keyring file, or any
// endpoint speaking the AWS KMS API, adapted by the composition root). The
// encryption context (the stream ARN) is bound to every wrapped key. It
// imports only the standard library and vfs (the keyring's file I/O).
package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// KeyProvider wraps and unwraps data keys under master keys.
type KeyProvider interface {
	// GenerateDataKey returns a new 32-byte data key and its wrapped form.
	GenerateDataKey(ctx context.Context, keyID string, encCtx map[string]string) (plaintext, wrapped []byte, err error)
	// Decrypt unwraps a data key wrapped by GenerateDataKey with the same context.
	Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error)
}

// ErrDecrypt reports data that cannot be decrypted (wrong key or context,
// or damaged ciphertext).
var ErrDecrypt = errors.New("envelope: cannot decrypt")

// Seal encrypts plaintext with a data key, appending to dst:
// keyRef u32 | nonce (12) | ciphertext+tag. keyRef names the data key.
func Seal(dst []byte, dataKey []byte, keyRef uint32, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	dst = binary.BigEndian.AppendUint32(dst, keyRef)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	dst = append(dst, nonce...)
	return aead.Seal(dst, nonce, plaintext, aad), nil
}

// KeyRef returns the data key reference of a sealed record.
func KeyRef(sealed []byte) (uint32, bool) {
	if len(sealed) < 4+12+16 {
		return 0, false
	}
	return binary.BigEndian.Uint32(sealed), true
}

// Open decrypts a sealed record with its data key.
func Open(dataKey, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 4+12+16 {
		return nil, ErrDecrypt
	}
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, sealed[4:16], sealed[16:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// contextAAD canonicalizes an encryption context.
func contextAAD(encCtx map[string]string) []byte {
	keys := make([]string, 0, len(encCtx))
	for k := range encCtx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		b = binary.BigEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(encCtx[k])))
		b = append(b, encCtx[k]...)
	}
	return b
}

// Keyring is the local KeyProvider: master keys in a JSON file with mode
// 0600, one list of versions per key id (Rotate adds a version; old versions
// stay to unwrap old data keys). Master keys are never logged. Every change
// is written with vfs.WriteFileAtomicPerm, so a key is durable before any
// data key wrapped under it is handed out. A Keyring is safe for concurrent
// use.
type Keyring struct {
	path string
	fs   vfs.FS

	mu sync.Mutex
	// Guarded by mu.
	keys map[string][]masterKey
}

type masterKey struct {
	Version int    `json:"version"`
	Key     string `json:"key"` // base64, 32 bytes
	Created int64  `json:"created"`
}

// KeyringOption configures OpenKeyring.
type KeyringOption func(*Keyring)

// WithFS makes the keyring do its file I/O through fs, which must implement
// vfs.PermFS (vfs.OS and vfs.MemFS do) so the file can be kept at 0600.
// Default: vfs.OS{}.
func WithFS(fs vfs.FS) KeyringOption {
	return func(k *Keyring) { k.fs = fs }
}

// OpenKeyring opens (creating if needed, durably) the keyring file.
func OpenKeyring(path string, opts ...KeyringOption) (*Keyring, error) {
	k := &Keyring{path: path, fs: vfs.OS{}, keys: map[string][]masterKey{}}
	for _, o := range opts {
		o(k)
	}
	b, err := vfs.ReadFile(k.fs, path)
	if vfs.IsNotExist(err) {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k, k.saveLocked()
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &k.keys); err != nil {
		return nil, fmt.Errorf("envelope: keyring %s: %w", path, err)
	}
	return k, nil
}

// saveLocked writes the keyring durably: when it returns nil, every key in
// k.keys survives power loss.
func (k *Keyring) saveLocked() error {
	b, err := json.Marshal(k.keys)
	if err != nil {
		return err
	}
	if err := vfs.WriteFileAtomicPerm(k.fs, k.path, b, 0o600); err != nil {
		return fmt.Errorf("envelope: saving keyring: %w", err)
	}
	return nil
}

// current returns the newest version of keyID, creating the key if needed.
func (k *Keyring) current(keyID string) (masterKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if vs := k.keys[keyID]; len(vs) > 0 {
		return vs[len(vs)-1], nil
	}
	if err := k.addLocked(keyID); err != nil {
		return masterKey{}, err
	}
	vs := k.keys[keyID]
	return vs[len(vs)-1], nil
}

// addLocked adds a version of keyID and saves the keyring. If the save
// fails the version is forgotten: a key that might not survive a crash never
// wraps a data key.
func (k *Keyring) addLocked(keyID string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	vs := k.keys[keyID]
	k.keys[keyID] = append(vs[:len(vs):len(vs)], masterKey{Version: len(vs) + 1, Key: base64.StdEncoding.EncodeToString(raw), Created: time.Now().Unix()})
	if err := k.saveLocked(); err != nil {
		if vs == nil {
			delete(k.keys, keyID)
		} else {
			k.keys[keyID] = vs
		}
		return err
	}
	return nil
}

// Rotate adds a new version of keyID; new data keys use it, old ones stay
// readable.
func (k *Keyring) Rotate(keyID string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.addLocked(keyID)
}

func (k *Keyring) version(keyID string, v int) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, m := range k.keys[keyID] {
		if m.Version == v {
			b, err := base64.StdEncoding.DecodeString(m.Key)
			return b, err == nil
		}
	}
	return nil, false
}

// GenerateDataKey implements KeyProvider. The wrapped form is
// "RK1" | keyID length u16 | keyID | version u32 | nonce | GCM(dataKey).
func (k *Keyring) GenerateDataKey(_ context.Context, keyID string, encCtx map[string]string) ([]byte, []byte, error) {
	m, err := k.current(keyID)
	if err != nil {
		return nil, nil, err
	}
	mk, _ := base64.StdEncoding.DecodeString(m.Key)
	dk := make([]byte, 32)
	if _, err := rand.Read(dk); err != nil {
		return nil, nil, err
	}
	aead, err := newGCM(mk)
	if err != nil {
		return nil, nil, err
	}
	w := append([]byte("RK1"), 0, 0)
	binary.BigEndian.PutUint16(w[3:], uint16(len(keyID)))
	w = append(w, keyID...)
	w = binary.BigEndian.AppendUint32(w, uint32(m.Version))
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	w = append(w, nonce...)
	w = aead.Seal(w, nonce, dk, contextAAD(encCtx))
	return dk, w, nil
}

// Decrypt implements KeyProvider.
func (k *Keyring) Decrypt(_ context.Context, w []byte, encCtx map[string]string) ([]byte, error) {
	if len(w) < 5 || string(w[:3]) != "RK1" {
		return nil, ErrDecrypt
	}
	n := int(binary.BigEndian.Uint16(w[3:]))
	if len(w) < 5+n+4+12+16 {
		return nil, ErrDecrypt
	}
	keyID := string(w[5 : 5+n])
	v := int(binary.BigEndian.Uint32(w[5+n:]))
	mk, ok := k.version(keyID, v)
	if !ok {
		return nil, fmt.Errorf("%w: master key %s version %d not in the keyring", ErrDecrypt, keyID, v)
	}
	aead, err := newGCM(mk)
	if err != nil {
		return nil, err
	}
	p := 5 + n + 4
	dk, err := aead.Open(nil, w[p:p+12], w[p+12:], contextAAD(encCtx))
	if err != nil {
		return nil, ErrDecrypt
	}
	return dk, nil
}
