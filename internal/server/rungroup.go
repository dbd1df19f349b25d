package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// runGroup owns the server's long-lived goroutines: each is started with a
// name through Go or Every, sees a context that is cancelled by Stop, and is
// waited for by Stop. The first error a member returns (other than the
// context's) is kept for Err and ends the group (Done closes), so a failing
// listener stops the whole server, as an oklog/run group would.
type runGroup struct {
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	wg     sync.WaitGroup

	mu      sync.Mutex // guards err and running
	err     error
	running map[string]int
}

func newRunGroup(log *slog.Logger) *runGroup {
	ctx, cancel := context.WithCancel(context.Background())
	return &runGroup{ctx: ctx, cancel: cancel, log: log, running: map[string]int{}}
}

// Go starts fn under name. fn must return when its context is cancelled.
func (g *runGroup) Go(name string, fn func(ctx context.Context) error) {
	g.wg.Add(1)
	g.mu.Lock()
	g.running[name]++
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		err := fn(g.ctx)
		g.mu.Lock()
		g.running[name]--
		if g.running[name] == 0 {
			delete(g.running, name)
		}
		failed := err != nil && !errors.Is(err, context.Canceled) && g.ctx.Err() == nil
		if failed && g.err == nil {
			g.err = errors.New(name + ": " + err.Error())
		}
		g.mu.Unlock()
		if failed {
			g.log.Error("server component failed; stopping", "component", name, "err", err)
			g.cancel()
		}
	}()
}

// Every runs fn every interval under name until Stop; an error is logged
// (a periodic task retries at its next tick) and does not end the group.
func (g *runGroup) Every(name string, interval time.Duration, fn func(ctx context.Context) error) {
	g.Go(name, func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					g.log.Warn("periodic task failed", "task", name, "err", err)
				}
			}
		}
	})
}

// Done is closed when the group stops or a member fails.
func (g *runGroup) Done() <-chan struct{} { return g.ctx.Done() }

// Err is the first member failure, if any.
func (g *runGroup) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Running lists the names of the members still running (tests, debugging).
func (g *runGroup) Running() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]int, len(g.running))
	for k, v := range g.running {
		out[k] = v
	}
	return out
}

// Stop cancels every member's context and waits for all of them.
func (g *runGroup) Stop() {
	g.cancel()
	g.wg.Wait()
}
