package server_test

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	sc "github.com/rheos/rheos/internal/signaling/signalingclient"
)

// BenchmarkSignaling: RHEOS_BENCH_CHANNELS channels (default 100), each
// with a master and 9 viewers (1,000 connected clients by default),
// connected as fast as AWS's 3 connects/s per channel allows; then every
// viewer sends an SDP offer a second for RHEOS_BENCH_SECONDS (default 5)
// and its master answers each. Reported: connects/s, the server's heap and
// goroutines per connected client, the process's RSS (clients included),
// and the one-way latency viewer → master and the round trip p50/p99.
//
//	go test ./internal/server -run '^$' -bench Signaling -benchtime 1x
func BenchmarkSignaling(b *testing.B) {
	channels, seconds := benchInt("RHEOS_BENCH_CHANNELS", 100), benchInt("RHEOS_BENCH_SECONDS", 5)
	for range b.N {
		ts := newServer(b)
		vc := ts.videoClient()
		fixtures := make([]channelFixture, channels)
		for i := range fixtures {
			fixtures[i] = signalingChannel(b, vc, fmt.Sprint("bench-", i), 0)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		goBefore := runtime.NumGoroutine()
		masters := make([]*sc.Client, channels)
		viewers := make([][]*sc.Client, channels)
		var wg sync.WaitGroup
		start := time.Now()
		for i, f := range fixtures {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for v := 0; v <= 9; v++ {
					id := ""
					if v > 0 {
						id = fmt.Sprint("viewer-", v)
					}
					for {
						c, err := dialErr(f, id, "AKIDTEST", "secret")
						if err == nil {
							if v == 0 {
								masters[i] = c
							} else {
								viewers[i] = append(viewers[i], c)
							}
							break
						}
						time.Sleep(100 * time.Millisecond) // the channel's connect rate: try again
					}
				}
			}()
		}
		wg.Wait()
		connectTime := time.Since(start)
		clients := channels * 10
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		perClientKiB := float64(after.HeapInuse-before.HeapInuse) / float64(clients) / 1024
		goroutinesPer := float64(runtime.NumGoroutine()-goBefore) / float64(clients)

		var mu sync.Mutex
		var oneWay, roundTrip []time.Duration
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+10)*time.Second)
		for i := range channels {
			m := masters[i]
			wg.Add(1)
			go func() { // the master answers every offer with its timestamp
				defer wg.Done()
				for {
					e, err := m.Recv(ctx)
					if err != nil {
						return
					}
					if e.MessageType != "SDP_OFFER" {
						continue
					}
					sent, _ := strconv.ParseInt(e.MessagePayload, 10, 64)
					mu.Lock()
					oneWay = append(oneWay, time.Since(time.Unix(0, sent)))
					mu.Unlock()
					m.Send(ctx, sc.Message{Action: "SDP_ANSWER", RecipientClientID: e.SenderClientID, MessagePayload: e.MessagePayload})
				}
			}()
			for _, v := range viewers[i] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					go func() {
						for {
							e, err := v.Recv(ctx)
							if err != nil {
								return
							}
							if e.MessageType == "SDP_ANSWER" {
								sent, _ := strconv.ParseInt(e.MessagePayload, 10, 64)
								mu.Lock()
								roundTrip = append(roundTrip, time.Since(time.Unix(0, sent)))
								mu.Unlock()
							}
						}
					}()
					for range seconds {
						v.Send(ctx, sc.Message{Action: "SDP_OFFER", MessagePayload: strconv.FormatInt(time.Now().UnixNano(), 10)})
						time.Sleep(time.Second)
					}
				}()
			}
		}
		time.Sleep(time.Duration(seconds)*time.Second + time.Second)
		cancel()
		for i := range channels {
			masters[i].Close()
			for _, v := range viewers[i] {
				v.Close()
			}
		}
		wg.Wait()
		pct := func(d []time.Duration, p float64) float64 {
			if len(d) == 0 {
				return -1
			}
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(float64(clients), "clients")
		b.ReportMetric(float64(clients)/connectTime.Seconds(), "connects/s")
		b.ReportMetric(perClientKiB, "heap-KiB/client")
		b.ReportMetric(goroutinesPer, "goroutines/client")
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		b.ReportMetric(pct(oneWay, 0.5), "viewer→master-p50-ms")
		b.ReportMetric(pct(oneWay, 0.99), "viewer→master-p99-ms")
		b.ReportMetric(pct(roundTrip, 0.99), "round-trip-p99-ms")
		b.ReportMetric(float64(len(roundTrip)), "answers")
	}
}
