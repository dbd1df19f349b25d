package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	kvt "github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	sc "github.com/rheos/rheos/internal/signaling/signalingclient"
)

// procStatusMiB reads a process's VmRSS and VmHWM (peak) in MiB.
func procStatusMiB(pid int) (rss, peak float64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// BenchmarkSignalingServerRSS: the real binary holds RHEOS_BENCH_CHANNELS
// channels (default 100) with a master and 9 viewers each — 1,000
// connected clients, connected from this process — and its own RSS is
// read from /proc (the clients are not counted).
//
//	go test ./e2e -run '^$' -bench SignalingServerRSS -benchtime 1x
func BenchmarkSignalingServerRSS(b *testing.B) {
	channels := 100
	if n, err := strconv.Atoi(os.Getenv("RHEOS_BENCH_CHANNELS")); err == nil && n > 0 {
		channels = n
	}
	for range b.N {
		p := startServer(b, filepath.Join(b.TempDir(), "data"), freePort(b))
		ctx := context.Background()
		c := kv.New(kv.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + p.addr), Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
		_, before := procStatusMiB(p.cmd.Process.Pid)
		type ch struct{ arn, wss string }
		chs := make([]ch, channels)
		for i := range chs {
			out, err := c.CreateSignalingChannel(ctx, &kv.CreateSignalingChannelInput{ChannelName: aws.String(fmt.Sprint("c", i))})
			if err != nil {
				b.Fatal(err)
			}
			chs[i].arn = *out.ChannelARN
		}
		time.Sleep(200 * time.Millisecond)
		for i := range chs {
			ep, err := c.GetSignalingChannelEndpoint(ctx, &kv.GetSignalingChannelEndpointInput{ChannelARN: aws.String(chs[i].arn),
				SingleMasterChannelEndpointConfiguration: &kvt.SingleMasterChannelEndpointConfiguration{Protocols: []kvt.ChannelProtocol{kvt.ChannelProtocolWss}, Role: kvt.ChannelRoleViewer}})
			if err != nil {
				b.Fatal(err)
			}
			chs[i].wss = *ep.ResourceEndpointList[0].ResourceEndpoint
		}
		var mu sync.Mutex
		var clients []*sc.Client
		var wg sync.WaitGroup
		start := time.Now()
		for _, h := range chs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for v := 0; v <= 9; v++ {
					id := ""
					if v > 0 {
						id = fmt.Sprint("viewer-", v)
					}
					for {
						dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
						cl, err := sc.Dial(dctx, sc.Options{Endpoint: h.wss, ChannelARN: h.arn, ClientID: id, Region: "us-east-1", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"})
						cancel()
						if err == nil {
							mu.Lock()
							clients = append(clients, cl)
							mu.Unlock()
							break
						}
						time.Sleep(100 * time.Millisecond)
					}
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		time.Sleep(time.Second)
		rss, peak := procStatusMiB(p.cmd.Process.Pid)
		b.ReportMetric(float64(len(clients)), "clients")
		b.ReportMetric(float64(len(clients))/took.Seconds(), "connects/s")
		b.ReportMetric(rss, "server-RSS-MiB")
		b.ReportMetric(peak, "server-peak-RSS-MiB")
		b.ReportMetric(before, "server-RSS-before-MiB")
		for _, cl := range clients {
			cl.Close()
		}
	}
}
