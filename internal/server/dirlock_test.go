package server_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/server"
)

// TestDataDirInUse: a second server on a data directory in use is refused
// at once, naming the directory and the holder's pid; once the first
// closes, the directory opens again.
func TestDataDirInUse(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	ctx := context.Background()
	first, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{})
	if !errors.Is(err, server.ErrDataDirInUse) || !strings.Contains(err.Error(), cfg.DataDir) ||
		!strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second server: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the refusal took %v", took)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	again.Close()
}
