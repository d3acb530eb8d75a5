package web

import (
	"context"
	"net/http"
	"runtime"

	"golang.org/x/sync/semaphore"
)

// A OneNote page is processed (escaped for the page view, sanitized, converted to Markdown) in
// memory, and processing takes several times the page's size. Under load, sixteen 1 MB pages at
// once held over 100 MB and left the garbage collector running all the time (make perf: a 1 MB
// page cost 25-48 times a 100 KB one at c=16, not 10). So the app processes about one megabyte
// of page HTML per two CPUs at a time: other requests wait their turn, which costs them no
// throughput (a conversion keeps one CPU busy and its garbage the other) and keeps memory and the
// cost per page near linear (make perf at c=16, 1 MB converted: 97 ms of CPU with 2 MB at a time,
// 57 ms with 1 MB; 1 MB ÷ 100 KB 23x -> 13x).
func newPageWork() *semaphore.Weighted { return semaphore.NewWeighted(pageWorkBudget()) }

func pageWorkBudget() int64 { return int64(max(1, runtime.GOMAXPROCS(0)/2)) << 20 }

// minPageWeight counts small pages as 64 KB, so many small pages still share the CPUs fairly.
const minPageWeight = 64 << 10

// pageTurn waits until size bytes of page HTML may be processed and returns the release. A
// request whose client went away while waiting gets ok=false and is answered 503.
func (a *App) pageTurn(w http.ResponseWriter, r *http.Request, size int) (release func(), ok bool) {
	n := min(max(int64(size), minPageWeight), pageWorkBudget()) // a page larger than the budget runs alone
	if err := a.pageWork.Acquire(r.Context(), n); err != nil {
		a.fail(w, r, problem{Status: http.StatusServiceUnavailable, Title: "Busy",
			What: "The app was busy with other pages and the request ended before its turn came.",
			Fix:  "Try again.", Action: r.URL.RequestURI(), ActionText: "Try again", logErr: context.Cause(r.Context())})
		return nil, false
	}
	return func() { a.pageWork.Release(n) }, true
}
