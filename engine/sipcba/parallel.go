package sipcba

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// Parallel runs do(0) … do(n−1) on workers goroutines (GOMAXPROCS when workers ≤ 0), the
// way importers fill a Writer: it stops handing out work at the first error or when ctx
// (may be nil) is done, and returns that error. progress, when set, is called after each
// successful item with the number of items finished so far, serialised.
func Parallel(ctx context.Context, n, workers int, do func(i int) error, progress func(done, i int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var (
		mu    sync.Mutex
		first error
		done  int
		wg    sync.WaitGroup
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				err := do(i)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				done++
				if err == nil && progress != nil {
					progress(done, i)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		mu.Lock()
		if ctx != nil && ctx.Err() != nil && first == nil {
			first = fmt.Errorf("stopped: %w", ctx.Err())
		}
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
