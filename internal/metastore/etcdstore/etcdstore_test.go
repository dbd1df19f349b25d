package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/rheos/rheos/internal/clustertest"
	"github.com/rheos/rheos/internal/metastore"
	"github.com/rheos/rheos/internal/metastore/etcdstore"
	"github.com/rheos/rheos/internal/metastore/metatest"
)

// One etcd member for the package's tests, started by TestMain on a temp
// directory and free loopback ports. Each test works under its own key
// prefix.
var (
	client   *clientv3.Client
	startErr error
	prefixes atomic.Int64
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcdstore-test-")
	if err != nil {
		startErr = err
		os.Exit(m.Run())
	}
	e, err := clustertest.StartEtcd(dir)
	if err != nil {
		startErr = err
	} else {
		client, startErr = clientv3.New(clientv3.Config{
			Endpoints:   []string{"http://" + e.Endpoint},
			DialTimeout: 10 * time.Second,
		})
	}
	code := m.Run()
	if client != nil {
		client.Close()
	}
	if e != nil {
		e.Stop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// newStore returns a Store under a fresh prefix of the test member, or
// skips the test when the member could not start.
func newStore(t *testing.T) *etcdstore.Store {
	t.Helper()
	if startErr != nil || client == nil {
		t.Fatalf("embedded etcd member could not start: %v", startErr)
	}
	s, err := etcdstore.New(etcdstore.Options{
		Client:   client,
		Prefix:   fmt.Sprintf("test/%d/", prefixes.Add(1)),
		PageSize: 100, // small pages, so the suite's large scan crosses many
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the KV suite on etcd.
func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) metastore.KV { return newStore(t) })
}

// TestPrefixIsolation: two stores on one etcd under different prefixes see
// only their own keys.
func TestPrefixIsolation(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	if ok, _, err := a.Commit(ctx, nil, map[string][]byte{"k": []byte("a")}, nil); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if v, rev, err := b.Get(ctx, "k"); v != nil || rev != 0 || err != nil {
		t.Fatalf("other prefix sees k = %q@%d %v", v, rev, err)
	}
	n := 0
	b.Scan(ctx, "", func(string, []byte, uint64) error { n++; return nil })
	if n != 0 {
		t.Fatalf("other prefix scans %d keys", n)
	}
}

// TestEtcdRefusesOversize: limits raised above etcd's own are still
// refused, by etcd, with the contract's sentinels, and nothing is applied.
func TestEtcdRefusesOversize(t *testing.T) {
	newStore(t) // skip without etcd
	ctx := context.Background()
	s, err := etcdstore.New(etcdstore.Options{Client: client, Prefix: fmt.Sprintf("test/%d/", prefixes.Add(1)),
		Limits: metastore.Limits{MaxOps: 10000, MaxTxnBytes: 1 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	puts := map[string][]byte{}
	for i := range 129 {
		puts[fmt.Sprintf("k%03d", i)] = []byte("v")
	}
	if ok, _, err := s.Commit(ctx, nil, puts, nil); ok || !errors.Is(err, metastore.ErrTooManyOps) {
		t.Fatalf("129 puts: %v, %v", ok, err)
	}
	big := make([]byte, 1600<<10) // over etcd's 1.5 MiB request limit
	if ok, _, err := s.Commit(ctx, nil, map[string][]byte{"big": big}, nil); ok || !errors.Is(err, metastore.ErrTooLarge) {
		t.Fatalf("1.6 MiB value: %v, %v", ok, err)
	}
	n := 0
	s.Scan(ctx, "", func(string, []byte, uint64) error { n++; return nil })
	if n != 0 {
		t.Fatalf("refused commits left %d keys", n)
	}
}

// TestLeaseFence: an owner whose session (lease) ends is fenced out: its
// commits are refused with ErrFenced, and the next owner can claim.
func TestLeaseFence(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	l1, err := client.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	f1, ok, err := s.Claim(ctx, "owner/shard-0", []byte("node-1"), l1.ID)
	if !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	l2, err := client.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Revoke(ctx, l2.ID)
	if _, ok, err := s.Claim(ctx, "owner/shard-0", []byte("node-2"), l2.ID); ok || err != nil {
		t.Fatalf("second claim while held: %v %v", ok, err)
	}
	if ok, _, err := metastore.CommitFenced(ctx, s, f1, nil, map[string][]byte{"walidx/1": []byte("a")}, nil); !ok || err != nil {
		t.Fatalf("owner's commit: %v %v", ok, err)
	}
	// The session ends (a zombie's lease expires: revoking is the same
	// deletion, without waiting the TTL).
	if _, err := client.Revoke(ctx, l1.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := metastore.CommitFenced(ctx, s, f1, nil, map[string][]byte{"walidx/2": []byte("zombie")}, nil); ok || !errors.Is(err, metastore.ErrFenced) {
		t.Fatalf("commit after the lease ended: %v %v; want ErrFenced", ok, err)
	}
	f2, ok, err := s.Claim(ctx, "owner/shard-0", []byte("node-2"), l2.ID)
	if !ok || err != nil || f2.Rev <= f1.Rev {
		t.Fatalf("claim after expiry: %+v %v %v", f2, ok, err)
	}
	if ok, _, err := metastore.CommitFenced(ctx, s, f1, nil, map[string][]byte{"walidx/2": []byte("zombie")}, nil); ok || !errors.Is(err, metastore.ErrFenced) {
		t.Fatalf("zombie's commit under the new owner: %v %v", ok, err)
	}
	if ok, _, err := metastore.CommitFenced(ctx, s, f2, nil, map[string][]byte{"walidx/2": []byte("b")}, nil); !ok || err != nil {
		t.Fatalf("new owner's commit: %v %v", ok, err)
	}
	if v, _, _ := s.Get(ctx, "walidx/2"); string(v) != "b" {
		t.Fatalf("walidx/2 = %q", v)
	}
}
