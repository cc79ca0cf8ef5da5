// Command queuetable measures atrest's Table and Queue services next to
// Azurite, in one run, with the official Go SDKs (aztables, azqueue) as the
// client for both, 32 clients at a time:
//
//   - load N entities (default 1,000,000) in entity group transactions of
//     100, then insert 100,000 more one by one into the loaded table,
//     reporting the rate of each tenth (a stall shows there) and the longest
//     single insert;
//   - point queries (GET one entity), partition range queries (100 rows of
//     one partition) and a filtered scan of the whole table on a non-key
//     property;
//   - bytes on disk per entity, measured after a clean stop;
//   - put and get M messages (default 100,000), gets 32 at a time.
//
// Usage:
//
//	go run ./bench/queuetable                 # the full run
//	go run ./bench/queuetable -entities 100000 -inserts 20000 -messages 20000
//	go run ./bench/queuetable -azurite=false
//
// Azurite comes from npm (`azurite@3`, installed into a cache directory on
// first use) and runs with --loose --skipApiVersionCheck --disableTelemetry.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

const devKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// config is the workload, shared by both servers.
type config struct {
	entities   int // loaded in transactions of 100
	inserts    int // then inserted one by one
	messages   int
	workers    int
	pointFor   time.Duration
	rangeRuns  int
	scanRuns   int
	partitions int
	phaseLimit time.Duration
	tables     bool
	queues     bool
}

// result is one server's figures.
type result struct {
	name                     string
	loadRate                 float64 // entities/s in transactions
	insertRate, slowestTenth float64 // entities/s one by one
	insertMax                time.Duration
	pointRate                float64
	pointP50, pointP99       time.Duration
	rangeP50, rangeP99       time.Duration
	scan                     time.Duration // one full filtered scan
	scanPages                int
	bytesPerEntity           float64
	tableRSSMiB              float64
	putRate, getRate         float64 // messages/s
	getNote                  string  // set when the gets ran out of time
	queueBytesPerMsg         float64
	tableErr, queueErr       error // the phase that stopped a run early
}

func main() {
	var cfg config
	flag.IntVar(&cfg.entities, "entities", 1_000_000, "entities to load in transactions of 100")
	flag.IntVar(&cfg.inserts, "inserts", 100_000, "entities to insert one by one after the load")
	flag.IntVar(&cfg.messages, "messages", 100_000, "messages to put and get")
	flag.IntVar(&cfg.workers, "workers", 32, "concurrent clients")
	flag.DurationVar(&cfg.pointFor, "point-time", 10*time.Second, "duration of the point-query phase")
	flag.IntVar(&cfg.rangeRuns, "range-queries", 200, "partition range queries")
	flag.IntVar(&cfg.scanRuns, "scans", 3, "filtered full-table scans")
	flag.DurationVar(&cfg.phaseLimit, "get-limit", 20*time.Minute, "longest time to spend getting messages back")
	flag.IntVar(&azuriteHeapMiB, "azurite-heap", azuriteHeapMiB, "Node heap limit for Azurite, MiB")
	flag.BoolVar(&cfg.tables, "tables", true, "run the Table phases")
	flag.BoolVar(&cfg.queues, "queues", true, "run the Queue phases")
	withAzurite := flag.Bool("azurite", true, "also measure Azurite")
	withAtrest := flag.Bool("atrest", true, "measure atrest")
	flag.Parse()
	cfg.partitions = max(1, cfg.entities/1000)

	var results []result
	if *withAtrest {
		results = append(results, run("atrest", startAtrest, cfg))
	}
	if *withAzurite {
		results = append(results, run("Azurite", startAzurite, cfg))
	}
	report(cfg, results)
}

// run measures one server: the table phases on one instance, then the
// queue phases on a fresh one, so each data directory holds one service's
// data when it is measured.
func run(name string, start func(phase string) (*server, error), cfg config) result {
	r := result{name: name}
	if cfg.tables {
		r.tableErr = tablePhase(start, cfg, &r)
	}
	if cfg.queues {
		r.queueErr = queuePhase(start, cfg, &r)
	}
	return r
}

func tablePhase(start func(string) (*server, error), cfg config, r *result) error {
	srv, err := start("table")
	if err != nil {
		return err
	}
	defer srv.cleanup()
	err = benchTables(srv, cfg, r)
	if how := srv.exited(); how != "" && err != nil {
		err = fmt.Errorf("%w (%s)", err, how)
	}
	r.tableRSSMiB = srv.peakRSS()
	if serr := srv.stop(); serr != nil && err == nil {
		err = serr
	}
	r.bytesPerEntity = float64(srv.diskBytes()) / float64(cfg.entities+cfg.inserts)
	return err
}

func queuePhase(start func(string) (*server, error), cfg config, r *result) error {
	srv, err := start("queue")
	if err != nil {
		return err
	}
	defer srv.cleanup()
	err = benchQueue(srv, cfg, r)
	if how := srv.exited(); how != "" && err != nil {
		err = fmt.Errorf("%w (%s)", err, how)
	}
	srv.stop()
	r.queueBytesPerMsg = float64(srv.diskBytes()) / float64(cfg.messages)
	return err
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func report(cfg config, results []result) {
	if cfg.tables {
		reportTables(cfg, results)
	}
	if cfg.queues {
		reportQueues(cfg, results)
	}
	for _, r := range results {
		for _, err := range []error{r.tableErr, r.queueErr} {
			if err != nil {
				fmt.Printf("\n%s stopped: %v\n", r.name, err)
			}
		}
	}
	if len(results) != 2 {
		return
	}
	a, z := results[0], results[1]
	ratio := func(x, y float64) string {
		if y == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1fx", x/y)
	}
	fmt.Printf("\natrest/Azurite: load %s, insert %s, point query %s, put %s, get %s\n", ratio(a.loadRate, z.loadRate),
		ratio(a.insertRate, z.insertRate), ratio(a.pointRate, z.pointRate), ratio(a.putRate, z.putRate), ratio(a.getRate, z.getRate))
}

func reportTables(cfg config, results []result) {
	fmt.Printf("\nTable: %d entities loaded in transactions of 100 across %d partitions, then %d inserted one by one; %d clients\n\n",
		cfg.entities, cfg.partitions, cfg.inserts, cfg.workers)
	fmt.Println("| server | load (transactions) | insert (one by one) | slowest tenth | longest insert | point query | point p50 / p99 | range query (100 rows) p50 / p99 | filtered scan | on disk per entity | peak RSS |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range results {
		name := r.name
		if r.tableErr != nil {
			name += " (stopped: see below)"
		}
		fmt.Printf("| %s | %.0f /s | %.0f /s | %.0f /s | %s | %.0f /s | %s / %s | %s / %s | %.2f s (%d pages) | %.0f B | %.0f MiB |\n",
			name, r.loadRate, r.insertRate, r.slowestTenth, ms(r.insertMax), r.pointRate, ms(r.pointP50), ms(r.pointP99),
			ms(r.rangeP50), ms(r.rangeP99), r.scan.Seconds(), r.scanPages, r.bytesPerEntity, r.tableRSSMiB)
	}
}

func reportQueues(cfg config, results []result) {
	fmt.Printf("\nQueue: %d messages, %d clients, gets of 32\n\n", cfg.messages, cfg.workers)
	fmt.Println("| server | put | get | on disk per message |")
	fmt.Println("| --- | --- | --- | --- |")
	for _, r := range results {
		name := r.name
		if r.queueErr != nil {
			name += " (stopped: see below)"
		}
		get := fmt.Sprintf("%.0f msg/s", r.getRate)
		if r.getNote != "" {
			get += " (" + r.getNote + ")"
		}
		fmt.Printf("| %s | %.0f msg/s | %s | %.0f B |\n", name, r.putRate, get, r.queueBytesPerMsg)
	}
}
