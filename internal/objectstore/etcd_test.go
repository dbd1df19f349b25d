package objectstore

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/rheos/rheos/internal/clustertest"
	"github.com/rheos/rheos/internal/metastore/etcdstore"
)

// One etcd member for the tests that want one, started by the first and
// stopped by TestMain.
var etcdMember struct {
	once   sync.Once
	dir    string
	e      *clustertest.Etcd
	client *clientv3.Client
	err    error
	n      int
}

func TestMain(m *testing.M) {
	code := m.Run()
	if etcdMember.client != nil {
		etcdMember.client.Close()
	}
	if etcdMember.e != nil {
		etcdMember.e.Stop()
	}
	if etcdMember.dir != "" {
		os.RemoveAll(etcdMember.dir)
	}
	os.Exit(code)
}

// newEtcdHarness is a limited harness over a fresh prefix of the etcd
// member (which enforces etcd's own limits too).
func newEtcdHarness(t *testing.T) *limitedHarness {
	t.Helper()
	m := &etcdMember
	m.once.Do(func() {
		if m.dir, m.err = os.MkdirTemp("", "objectstore-etcd-"); m.err != nil {
			return
		}
		if m.e, m.err = clustertest.StartEtcd(m.dir); m.err != nil {
			return
		}
		m.client, m.err = clientv3.New(clientv3.Config{Endpoints: []string{"http://" + m.e.Endpoint}, DialTimeout: 10 * time.Second})
	})
	if m.err != nil {
		t.Fatalf("embedded etcd member could not start: %v", m.err)
	}
	m.n++
	kv, err := etcdstore.New(etcdstore.Options{Client: m.client, Prefix: fmt.Sprintf("objectstore-test/%d/", m.n), PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessOver(t, kv)
}
