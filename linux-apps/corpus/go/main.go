// A Go program of the corpus (CGO_ENABLED=0, static): goroutines over worker threads, channels,
// sync.WaitGroup and a mutex. Its output is the same whatever the interleaving.
package main

import (
	"fmt"
	"sort"
	"sync"
)

func main() {
	jobs := make(chan int, 16)
	results := make(chan [2]int, 16)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				s := 0
				for i := 0; i <= j*1000; i++ {
					s += i % 7
				}
				results <- [2]int{j, s}
			}
		}()
	}
	go func() {
		for j := 0; j < 40; j++ {
			jobs <- j
		}
		close(jobs)
	}()
	go func() { wg.Wait(); close(results) }()
	var all [][2]int
	for r := range results {
		all = append(all, r)
	}
	sort.Slice(all, func(a, b int) bool { return all[a][0] < all[b][0] })
	total := 0
	for _, r := range all {
		total += r[1]
	}
	var mu sync.Mutex
	counter := 0
	var wg2 sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for i := 0; i < 1000; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg2.Wait()
	fmt.Printf("go: %d results, total %d, first %v, last %v\n", len(all), total, all[0], all[len(all)-1])
	fmt.Printf("go: counter %d\n", counter)
}
