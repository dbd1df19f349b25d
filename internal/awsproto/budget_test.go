package awsproto

import (
	"context"
	"testing"
	"time"
)

func TestBudgetShares(t *testing.T) {
	b := NewBudget(100, 40)
	ctx := context.Background()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()

	a1, a2 := b.Open("alice"), b.Open("alice")
	if !a1.Grow(ctx, 30) || !a2.TryGrow(10) {
		t.Fatal("alice refused within her share")
	}
	if a2.TryGrow(1) || a2.Grow(short, 1) {
		t.Fatal("alice went over her share of 40")
	}
	if a2.Held() != 10 {
		t.Fatalf("a refused growth changed the hold: %d", a2.Held())
	}
	// Others are served from the rest of the budget.
	bob, carol := b.Open("bob"), b.Open("carol")
	if !bob.Grow(ctx, 40) || !carol.TryGrow(20) {
		t.Fatal("bob or carol refused while the budget has room")
	}
	if carol.TryGrow(1) {
		t.Fatal("the whole budget of 100 was exceeded")
	}
	// Giving back makes room, in the share and in the whole.
	a1.Shrink(25)
	if a1.Held() != 5 || !carol.TryGrow(10) || !a2.TryGrow(5) {
		t.Fatal("shrinking did not make room")
	}
	for _, h := range []*Hold{a1, a2, bob, carol} {
		h.Close()
		h.Close() // idempotent
	}
	if n := b.principals(); n != 0 {
		t.Fatalf("%d principals remembered after every hold closed", n)
	}
	if !b.Open("dave").TryGrow(100) {
		// Not within dave's share (40), but a hold larger than the share
		// takes all of it: it runs alone.
		t.Fatal("a hold larger than the share can never run")
	}
}

func TestBudgetLargerThanWhole(t *testing.T) {
	b := NewBudget(100, 0)
	if b.Share() != 25 {
		t.Fatalf("default share %d, want a quarter", b.Share())
	}
	h := b.Open("k")
	if !h.Grow(context.Background(), 500) {
		t.Fatal("a call larger than the budget can never run")
	}
	o := b.Open("other")
	if o.TryGrow(1) {
		t.Fatal("a call larger than the budget did not run alone")
	}
	h.Shrink(480)
	if h.Held() != 20 || !o.TryGrow(25) {
		t.Fatalf("after shrinking to %d, no room for others", h.Held())
	}
	h.Close()
	o.Close()
}

func TestBudgetResponseSettles(t *testing.T) {
	b := NewBudget(100, 50)
	h := b.Open("k")
	defer h.Close()
	if !h.Grow(context.Background(), 5) || !h.ReserveResponse(context.Background(), 40) {
		t.Fatal("refused within the share")
	}
	h.settleResponse(10) // the answer is smaller than its operation's largest
	if h.Held() != 15 {
		t.Fatalf("held %d after settling, want 15", h.Held())
	}
	other := b.Open("k")
	defer other.Close()
	if !other.TryGrow(10) {
		t.Fatal("refused within the share")
	}
	h.settleResponse(60) // larger than the room: counted only if there is room
	if h.Held() != 15 {
		t.Fatalf("held %d after an unroomy settle, want 15", h.Held())
	}
	h.settleResponse(30)
	if h.Held() != 35 {
		t.Fatalf("held %d, want 35", h.Held())
	}
}

// TestBudgetWaitEndsOnShutdown: a call waiting for room gives up at once
// when the server shuts down.
func TestBudgetWaitEndsOnShutdown(t *testing.T) {
	b := NewBudget(10, 10)
	full := b.Open("k")
	defer full.Close()
	full.TryGrow(10)
	stop := make(chan struct{})
	h := b.Open("k")
	defer h.Close()
	h.stop = stop
	time.AfterFunc(50*time.Millisecond, func() { close(stop) })
	start := time.Now()
	if h.Grow(context.Background(), 1) {
		t.Fatal("grew past a full budget")
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the wait for room outlived the shutdown by %v", took)
	}
}
