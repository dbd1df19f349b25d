package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// clusterCmd runs `rheos cluster status`: the storage seams of the node
// (metadata store, blob store) with the read cache and the upload backlog,
// read from the server's GET /cluster/status (on the admin listener when
// there is one).
func clusterCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprintln(stdout, "rheos cluster status [--endpoint URL] [--json]   (metadata store, blob store, read cache, upload backlog)")
			return nil
		}
		return errors.New("cluster: want status (rheos cluster -h)")
	}
	fs := flag.NewFlagSet("cluster status", flag.ContinueOnError)
	def := os.Getenv("RHEOS_ADMIN_ENDPOINT")
	if def == "" {
		def = os.Getenv("RHEOS_ENDPOINT")
	}
	if def == "" {
		def = "http://127.0.0.1:4566"
	}
	endpoint := fs.String("endpoint", def, "the server's admin endpoint (or its API endpoint when it has no admin listener); env RHEOS_ADMIN_ENDPOINT")
	asJSON := fs.Bool("json", false, "print the raw JSON")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(strings.TrimSuffix(*endpoint, "/") + "/cluster/status")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cluster status: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var st struct {
		Meta          string  `json:"meta"`
		MetaReachable bool    `json:"metaReachable"`
		MetaError     string  `json:"metaError"`
		MetaRevision  uint64  `json:"metaRevision"`
		Blobs         string  `json:"blobs"`
		Fence         uint64  `json:"fence"`
		Segments      int     `json:"segments"`
		Pending       int64   `json:"pendingBytes"`
		CacheRatio    float64 `json:"cacheHitRatio"`
		Tier          *struct {
			TieredSegments, BacklogSegments                   int
			TieredBytes, BacklogBytes, LocalBytes, LocalLimit int64
			Uploads, UploadedBytes, UploadFailures            int64
			LastError                                         string
			OrphansDeleted, CacheBytes, CacheLimit            int64
			CacheHits, CacheMisses                            int64
		} `json:"tier"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("cluster status: %w", err)
	}
	meta := "reachable, revision " + fmt.Sprint(st.MetaRevision)
	if !st.MetaReachable {
		meta = "UNREACHABLE: " + st.MetaError
	}
	fmt.Fprintf(stdout, "metadata store  %s\n                %s\n", st.Meta, meta)
	fmt.Fprintf(stdout, "blob store      %s\n", st.Blobs)
	fmt.Fprintf(stdout, "node fence      %d\n", st.Fence)
	fmt.Fprintf(stdout, "log             %d segments, %s pending fsync\n", st.Segments, size(st.Pending))
	if t := st.Tier; t != nil {
		limit := "no limit"
		if t.LocalLimit > 0 {
			limit = "limit " + size(t.LocalLimit)
		}
		fmt.Fprintf(stdout, "tiered          %d segments, %s\n", t.TieredSegments, size(t.TieredBytes))
		fmt.Fprintf(stdout, "upload backlog  %d segments, %s (local segments %s, %s)\n", t.BacklogSegments, size(t.BacklogBytes), size(t.LocalBytes), limit)
		fmt.Fprintf(stdout, "uploads         %d (%s), %d failed attempts, %d orphaned objects deleted\n", t.Uploads, size(t.UploadedBytes), t.UploadFailures, t.OrphansDeleted)
		if t.LastError != "" {
			fmt.Fprintf(stdout, "last failure    %s\n", t.LastError)
		}
		fmt.Fprintf(stdout, "read cache      %s of %s, %d hits, %d misses (hit ratio %.1f%%)\n", size(t.CacheBytes), size(t.CacheLimit), t.CacheHits, t.CacheMisses, 100*st.CacheRatio)
	}
	return nil
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
