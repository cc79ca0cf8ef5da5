package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

func clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1},
		Transport: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}}
}

// entity i of the workload: 1000 rows per partition, ~200 bytes of JSON.
func entity(i, partitions int) []byte {
	b, _ := json.Marshal(map[string]any{
		"PartitionKey": fmt.Sprintf("p%05d", i%partitions), "RowKey": fmt.Sprintf("r%08d", i),
		"Seq": i, "Name": fmt.Sprintf("customer %d", i), "Email": fmt.Sprintf("c%d@example.com", i),
		"Amount": float64(i%10000) / 7, "Active": i%3 == 0,
		"Created":            time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC3339),
		"Created@odata.type": "Edm.DateTime",
	})
	return b
}

// parallel runs fn(i) for i in [0, n) on w goroutines and returns each
// call's latency, indexed by i.
func parallel(n, w int, fn func(i int) error) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || firstErr.Load() != nil {
					return
				}
				t0 := time.Now()
				if err := fn(i); err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("operation %d: %w", i, err))
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return nil, e.(error)
	}
	return lat, nil
}

func percentile(lat []time.Duration, p float64) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func benchTables(srv *server, cfg config, r *result) error {
	sc, err := aztables.NewServiceClientFromConnectionString(srv.conn(), &aztables.ClientOptions{ClientOptions: clientOptions()})
	if err != nil {
		return err
	}
	ctx := context.Background()
	c := sc.NewClient("bench")
	if _, err := c.CreateTable(ctx, nil); err != nil {
		return err
	}

	// bulk load in entity group transactions of 100 (one partition each),
	// then single inserts into the loaded table, timed per tenth so that a
	// stall cannot hide in the average
	logf("%s: loading %d entities in transactions of 100", r.name, cfg.entities)
	perPartition := cfg.entities / cfg.partitions
	var loaded atomic.Int64
	t0 := time.Now()
	if _, err := parallel(cfg.entities/100, cfg.workers, func(b int) error {
		// batch b holds rows b*100… of partition b%partitions
		p, first := b%cfg.partitions, (b/cfg.partitions)*100
		actions := make([]aztables.TransactionAction, 0, 100)
		for k := first; k < min(first+100, perPartition); k++ {
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: entity(p+k*cfg.partitions, cfg.partitions)})
		}
		if _, err := c.SubmitTransaction(ctx, actions, nil); err != nil {
			return err
		}
		if n := loaded.Add(int64(len(actions))); n*10/int64(cfg.entities) != (n-int64(len(actions)))*10/int64(cfg.entities) {
			logf("%s: %d loaded, %.0f/s so far", r.name, n, float64(n)/time.Since(t0).Seconds())
		}
		return nil
	}); err != nil {
		r.loadRate = float64(loaded.Load()) / time.Since(t0).Seconds()
		return fmt.Errorf("load, after %d entities at %.0f/s: %w", loaded.Load(), r.loadRate, err)
	}
	r.loadRate = float64(cfg.entities) / time.Since(t0).Seconds()
	logf("%s: loaded %.0f entities/s", r.name, r.loadRate)

	logf("%s: inserting %d more entities one by one", r.name, cfg.inserts)
	tenth := max(cfg.inserts/10, 1)
	r.slowestTenth = -1
	t0 = time.Now()
	for start := 0; start < cfg.inserts; start += tenth {
		n := min(tenth, cfg.inserts-start)
		ts := time.Now()
		lat, err := parallel(n, cfg.workers, func(i int) error {
			_, err := c.AddEntity(ctx, entity(cfg.entities+start+i, cfg.partitions), nil)
			return err
		})
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		rate := float64(n) / time.Since(ts).Seconds()
		if r.slowestTenth < 0 || rate < r.slowestTenth {
			r.slowestTenth = rate
		}
		r.insertMax = max(r.insertMax, slices.Max(lat))
		logf("%s: %d inserted, %.0f/s in this tenth", r.name, start+n, rate)
	}
	r.insertRate = float64(cfg.inserts) / time.Since(t0).Seconds()
	total := cfg.entities + cfg.inserts

	// point queries on random entities for a fixed time
	var lats []time.Duration
	var mu sync.Mutex
	deadline := time.Now().Add(cfg.pointFor)
	t0 = time.Now()
	_, err = parallel(cfg.workers, cfg.workers, func(w int) error {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		var mine []time.Duration
		for time.Now().Before(deadline) {
			i := rng.IntN(total)
			ts := time.Now()
			if _, err := c.GetEntity(ctx, fmt.Sprintf("p%05d", i%cfg.partitions), fmt.Sprintf("r%08d", i), nil); err != nil {
				return err
			}
			mine = append(mine, time.Since(ts))
		}
		mu.Lock()
		lats = append(lats, mine...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("point query: %w", err)
	}
	r.pointRate = float64(len(lats)) / time.Since(t0).Seconds()
	r.pointP50, r.pointP99 = percentile(lats, 0.5), percentile(lats, 0.99)
	logf("%s: point queries %.0f/s", r.name, r.pointRate)

	// partition range queries: 100 consecutive rows of one partition
	rng := rand.New(rand.NewPCG(3, 4))
	lats = lats[:0]
	for range cfg.rangeRuns {
		p := rng.IntN(cfg.partitions)
		first := p + cfg.partitions*rng.IntN(max(1, cfg.entities/cfg.partitions-100))
		filter := fmt.Sprintf("PartitionKey eq 'p%05d' and RowKey ge 'r%08d' and RowKey lt 'r%08d'", p, first, first+100*cfg.partitions)
		ts := time.Now()
		n, _, err := query(ctx, c, filter)
		if err != nil {
			return fmt.Errorf("range query: %w", err)
		}
		if want := min(100, cfg.entities/cfg.partitions); n != want {
			return fmt.Errorf("range query %s: %d rows, want %d", filter, n, want)
		}
		lats = append(lats, time.Since(ts))
	}
	r.rangeP50, r.rangeP99 = percentile(lats, 0.5), percentile(lats, 0.99)
	logf("%s: range queries p50 %s", r.name, ms(r.rangeP50))

	// filtered scans: a non-key property, so every entity is examined
	var best time.Duration
	for k := range cfg.scanRuns {
		want := (k*7919 + 17) % total
		ts := time.Now()
		n, pages, err := query(ctx, c, fmt.Sprintf("Seq eq %d", want))
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if n != 1 {
			return fmt.Errorf("scan for Seq %d found %d entities", want, n)
		}
		if d := time.Since(ts); best == 0 || d < best {
			best, r.scanPages = d, pages
		}
	}
	r.scan = best
	logf("%s: filtered scan %.2f s", r.name, best.Seconds())
	return nil
}

// query runs a filter to the end, following continuation tokens.
func query(ctx context.Context, c *aztables.Client, filter string) (rows, pages int, err error) {
	p := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: to.Ptr(filter)})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, 0, err
		}
		rows += len(page.Entities)
		pages++
	}
	return rows, pages, nil
}
