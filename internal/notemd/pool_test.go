package notemd

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// TestConcurrentConversions: conversions running at the same time share no state through
// the buffers kept between conversions (the renderers, the snapshot buffers). Pages of
// different sizes and shapes are converted by several goroutines at once, each in its own
// order, and each result must be the one the page gives alone. Run it with -race as well: a
// buffer handed to two conversions is a data race even when the bytes happen to agree.
func TestConcurrentConversions(t *testing.T) {
	pages := map[string][]byte{}
	for _, size := range []int{300, 5000, 40 << 10, 200 << 10} {
		pages[fmt.Sprintf("benchPage(%d)", size)] = benchPage(size)
		pages[fmt.Sprintf("perfPage(%d)", size)] = perfPage(fmt.Sprint("P ", size), size)
	}
	for i := range 6 {
		pages[fmt.Sprintf("generated %d", i)] = onenoteLikePage(rand.New(rand.NewPCG(uint64(i), 3)), 2<<10+i*3000)
	}
	for name, page := range knownPages(t) {
		pages[name] = page
	}
	names := make([]string, 0, len(pages))
	want := map[string]string{}
	for name, page := range pages {
		md, err := Markdown(page, resourceURL)
		if err != nil {
			continue // (a page the parse refuses has no state to share)
		}
		names = append(names, name)
		want[name] = md
	}

	workers := max(4, 2*runtime.GOMAXPROCS(0))
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Go(func() {
			order := rand.New(rand.NewPCG(uint64(w), 11)).Perm(len(names))
			for range rounds {
				for _, i := range order {
					name := names[i]
					got, err := Markdown(pages[name], resourceURL)
					if err != nil || got != want[name] {
						errs <- fmt.Sprintf("worker %d: %s converted alongside other pages differs from its conversion alone (err %v)", w, name, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
