package notemd

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestConcurrentConversions: conversions running at the same time share no state through
// the buffers kept between conversions (the renderers, the snapshot buffers). Pages of
// different sizes and shapes are converted by several goroutines at once, each in its own
// order, and each result must be the one the page gives alone. Run it with -race (as the
// project's checks do): a buffer handed to two conversions is a data race even when the bytes
// happen to agree. (Tried once: with the renderer put back in the pool before its Markdown
// was tidied, -race failed it every time, a plain run about half the time.)
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

	// Rounds until 10 are done or a second has passed (under -race a round takes most of one):
	// a buffer shared by mistake shows in the output only when two conversions overlap there.
	workers := max(4, 2*runtime.GOMAXPROCS(0))
	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Go(func() {
			order := rand.New(rand.NewPCG(uint64(w), 11)).Perm(len(names))
			for round := 0; round < 10 && (round == 0 || time.Now().Before(deadline)); round++ {
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
