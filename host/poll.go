package host

import (
	"context"
	"sync"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

func (h *Host) pollLoop(ctx context.Context) {
	defer h.wg.Done()
	t := time.NewTicker(h.cfg.Poll.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.Poll(ctx)
		}
	}
}

// backoff is the wait before the n-th query of a pending object.
func (h *Host) backoff(n int) time.Duration {
	d := h.cfg.Poll.First
	for i := 0; i < n && d < h.cfg.Poll.Max; i++ {
		d *= 2
	}
	return min(d, h.cfg.Poll.Max)
}

// Poll runs one round of the settlement poller: every payment and refund
// whose next query is due is queried at its provider and the answer
// applied. It runs in the background unless Config.Poll.Disabled.
func (h *Host) Poll(ctx context.Context) {
	now := h.now()
	sem := make(chan struct{}, h.cfg.Poll.Concurrent)
	var wg sync.WaitGroup
	run := func(fn func()) {
		sem <- struct{}{}
		wg.Add(1)
		go func() { defer func() { <-sem; wg.Done() }(); fn() }()
	}
	payments, err := h.store.PaymentsToPoll(ctx, now, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: list payments", "err", err)
	}
	for _, sp := range payments {
		run(func() { h.pollPayment(ctx, sp) })
	}
	refunds, err := h.store.RefundsToPoll(ctx, now, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: list refunds", "err", err)
	}
	for _, sr := range refunds {
		run(func() { h.pollRefund(ctx, sr) })
	}
	wg.Wait()
}

func (h *Host) pollPayment(ctx context.Context, sp *store.Payment) {
	now := h.now()
	status := core.PaymentStatus(sp.Status)
	if status != core.PaymentCreated && status != core.PaymentProcessing {
		_, _ = h.movePayment(ctx, sp, "", "poll", "", store.PaymentUpdate{NextPollAt: ptr(time.Time{})})
		return
	}
	if now.Sub(sp.CreatedAt) > h.cfg.Poll.MaxAge {
		h.log.Warn("poll: payment still pending after the polling window; left for a person", "payment", sp.ID)
		_, _ = h.movePayment(ctx, sp, "", "poll", "", store.PaymentUpdate{NextPollAt: ptr(time.Time{})})
		return
	}
	if sp.Plugin == "" {
		// the create stopped before any provider was called (a crash)
		_, _ = h.movePayment(ctx, sp, core.PaymentFailed, "poll", "interrupted before any provider was called", store.PaymentUpdate{
			FailureCode: ptr(string(core.CodeProviderUnavailable)), FailureMessage: ptr("interrupted before any provider was called"),
			NextPollAt: ptr(time.Time{})})
		return
	}
	after, err := h.refreshPayment(ctx, sp, "poll")
	if err != nil {
		if core.CodeOf(err) == core.CodeNotFound && status == core.PaymentCreated && sp.ProviderID == "" {
			// the provider never received it (the create was cut short before it arrived)
			_, _ = h.movePayment(ctx, sp, core.PaymentFailed, "poll", "the provider has no such payment", store.PaymentUpdate{
				FailureCode: ptr(string(core.CodeNotFound)), FailureMessage: ptr("the provider never received the payment"),
				NextPollAt: ptr(time.Time{})})
			return
		}
		h.log.Warn("poll: payment query failed", "payment", sp.ID, "err", err)
		after = sp
	}
	if s := core.PaymentStatus(after.Status); s == core.PaymentCreated || s == core.PaymentProcessing {
		_, _ = h.movePayment(ctx, after, "", "poll", "", store.PaymentUpdate{
			NextPollAt: ptr(h.now().Add(h.backoff(after.PollAttempts + 1))), PollAttempts: ptr(after.PollAttempts + 1)})
	}
}

func (h *Host) pollRefund(ctx context.Context, sr *store.Refund) {
	status := core.RefundStatus(sr.Status)
	if status.Terminal() || h.now().Sub(sr.CreatedAt) > h.cfg.Poll.MaxAge {
		_, _ = h.moveRefund(ctx, sr, "", "poll", "", store.RefundUpdate{NextPollAt: ptr(time.Time{})})
		return
	}
	after, err := h.refreshRefund(ctx, sr, "poll")
	if err != nil {
		if core.CodeOf(err) == core.CodeNotFound && status == core.RefundCreated && sr.ProviderID == "" {
			_, _ = h.moveRefund(ctx, sr, core.RefundFailed, "poll", "the provider has no such refund", store.RefundUpdate{
				FailureCode: ptr(string(core.CodeNotFound)), FailureMessage: ptr("the provider never received the refund"),
				NextPollAt: ptr(time.Time{})})
			return
		}
		h.log.Warn("poll: refund query failed", "refund", sr.ID, "err", err)
		after = sr
	}
	if s := core.RefundStatus(after.Status); !s.Terminal() {
		_, _ = h.moveRefund(ctx, after, "", "poll", "", store.RefundUpdate{
			NextPollAt: ptr(h.now().Add(h.backoff(after.PollAttempts + 1))), PollAttempts: ptr(after.PollAttempts + 1)})
	}
}
