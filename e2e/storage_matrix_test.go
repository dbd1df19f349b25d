package e2e

import (
	"testing"

	"github.com/rheos/rheos/internal/clustertest"
)

// The storage matrix (issue 18; scripts/storage-matrix.sh): with
// RHEOS_TEST_STORAGE=s3 or etcd+s3, every server startServerWith starts
// tiers its sealed segments to a versitygw started here (and with etcd+s3
// keeps its metadata on an etcd member started here), with 1 MiB segments
// rolled every second so that records are read back from the bucket.
// Tests' own environment comes after and wins.
var matrix *clustertest.Matrix

func TestMain(m *testing.M) { clustertest.RunMatrix(m, &matrix) }

// matrixEnv is the environment putting the server on dataDir on the
// matrix's stores (nil without a matrix).
func matrixEnv(dataDir string) []string {
	st := matrix.For(dataDir)
	if st.Blobs == "" {
		return nil
	}
	env := []string{"RHEOS_BLOBS=" + st.Blobs, "RHEOS_BLOBS_ACCESS_KEY_ID=" + st.AccessKey,
		"RHEOS_BLOBS_SECRET_ACCESS_KEY=" + st.SecretKey,
		"RHEOS_SEGMENT_BYTES=1048576", "RHEOS_SEGMENT_AGE=1s", "RHEOS_SWEEP_INTERVAL=500ms"}
	if st.Meta != "" {
		env = append(env, "RHEOS_META="+st.Meta)
	}
	return env
}
