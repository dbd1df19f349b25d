package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// TestGracefulShutdown sends SIGTERM under load: the server must exit 0,
// every put it acknowledged must be readable after a restart.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	p := startServer(t, data, addr)
	c := client(addr)
	createStream(t, c, "crash", 2)
	var mu sync.Mutex
	var ledger []acked
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				d := fmt.Sprintf("w%d-%d", w, i)
				out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("crash"), PartitionKey: aws.String(d), Data: []byte(d)})
				if err != nil {
					continue
				}
				mu.Lock()
				ledger = append(ledger, acked{aws.ToString(out.ShardId), aws.ToString(out.SequenceNumber), d})
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(500 * time.Millisecond)
	p.terminate(t) // exits 0, or the test fails
	cancel()
	wg.Wait()
	p = startServer(t, data, addr)
	verifyLedger(t, c, ledger, "after SIGTERM")
	t.Logf("%d acknowledged records verified after SIGTERM", len(ledger))
	p.terminate(t)
}
