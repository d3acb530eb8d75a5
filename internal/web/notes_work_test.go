package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Page HTML is processed a bounded amount at a time: a page as large as the budget runs alone,
// a request waiting behind it whose client leaves gets 503, and the next one goes once the
// first is done.
func TestPageTurnBoundsPageWork(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	a := &App{pages: pages, log: slog.New(slog.DiscardHandler), pageWork: newPageWork()}
	r := httptest.NewRequest(http.MethodGet, "/notes/pages/x", nil)
	release, ok := a.pageTurn(httptest.NewRecorder(), r, int(pageWorkBudget())*3)
	if !ok {
		t.Fatal("the first page did not get its turn")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	w := httptest.NewRecorder()
	if _, ok := a.pageTurn(w, r.WithContext(ctx), 10); ok {
		t.Fatal("a second page was processed beside a page of the whole budget")
	}
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("a request that gave up waiting: %d, want 503", w.Code)
	}
	release()
	done := make(chan bool, 1)
	go func() {
		rel, ok := a.pageTurn(httptest.NewRecorder(), r, 10)
		if ok {
			rel()
		}
		done <- ok
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Error("after the first page was done, the next did not get its turn")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the budget was not given back")
	}
}
