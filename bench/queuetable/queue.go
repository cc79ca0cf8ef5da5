package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// benchQueue puts cfg.messages messages from many clients, then gets them
// all back, 32 per call, with a visibility timeout long enough that none
// reappears during the run.
func benchQueue(srv *server, cfg config, r *result) error {
	sc, err := azqueue.NewServiceClientFromConnectionString(srv.conn(), &azqueue.ClientOptions{ClientOptions: clientOptions()})
	if err != nil {
		return err
	}
	ctx := context.Background()
	q := sc.NewQueueClient("bench")
	if _, err := q.Create(ctx, nil); err != nil {
		return err
	}
	logf("%s: putting %d messages", r.name, cfg.messages)
	t0 := time.Now()
	if _, err := parallel(cfg.messages, cfg.workers, func(i int) error {
		_, err := q.EnqueueMessage(ctx, fmt.Sprintf("message %d: order shipped to customer %d", i, i*31), nil)
		return err
	}); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	r.putRate = float64(cfg.messages) / time.Since(t0).Seconds()

	// gets run until the queue is empty, or for at most cfg.phaseLimit:
	// a server that slows down as its queue grows is reported at the rate
	// it reached
	var got atomic.Int64
	deadline := time.Now().Add(cfg.phaseLimit)
	t0 = time.Now()
	if _, err := parallel(cfg.workers, cfg.workers, func(int) error {
		for time.Now().Before(deadline) {
			resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(7200))})
			if err != nil {
				return err
			}
			if len(resp.Messages) == 0 {
				return nil
			}
			if n := got.Add(int64(len(resp.Messages))); n/10000 != (n-int64(len(resp.Messages)))/10000 {
				logf("%s: %d messages got", r.name, n)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("get: %w", err)
	}
	r.getRate = float64(got.Load()) / time.Since(t0).Seconds()
	if int(got.Load()) != cfg.messages {
		if time.Now().After(deadline) {
			r.getNote = fmt.Sprintf("%d of %d in %s", got.Load(), cfg.messages, cfg.phaseLimit)
		} else {
			return fmt.Errorf("got %d messages back of %d", got.Load(), cfg.messages)
		}
	}
	logf("%s: put %.0f/s, get %.0f/s", r.name, r.putRate, r.getRate)
	return nil
}
