package host

import (
	"context"
	"sync"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Before a payment the provider says it does not know is given up, it
// must have been queried this often and be this old: a create delayed in
// the network may still arrive.
const (
	notFoundAttempts = 3
	notFoundAge      = 10 * time.Minute
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
			h.poll(ctx)
		}
	}
}

// poll runs one round of the settlement poller: every payment and refund
// whose next query is due is claimed (so pollers of other nodes leave it
// alone for Config.Poll.Lease), queried at its provider and the answer
// applied. It runs in the background unless Config.Poll.Disabled.
func (h *Host) poll(ctx context.Context) {
	now := h.now()
	sem := make(chan struct{}, h.cfg.Poll.Concurrent)
	var wg sync.WaitGroup
	run := func(fn func()) {
		sem <- struct{}{}
		wg.Add(1)
		go func() { defer func() { <-sem; wg.Done() }(); fn() }()
	}
	payments, err := h.store.ClaimPaymentsToPoll(ctx, now, h.cfg.Poll.Lease, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: claim payments", "err", err)
	}
	for _, sp := range payments {
		run(func() { h.pollPayment(ctx, sp) })
	}
	refunds, err := h.store.ClaimRefundsToPoll(ctx, now, h.cfg.Poll.Lease, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: claim refunds", "err", err)
	}
	for _, sr := range refunds {
		run(func() { h.pollRefund(ctx, sr) })
	}
	for _, p := range h.wiring.pollers {
		p(h, ctx, now, run)
	}
	wg.Wait()
}

func (h *Host) stopPolling(ctx context.Context, sp *store.Payment) {
	_, _ = h.movePayment(ctx, sp, "", "poll", "", store.PaymentUpdate{NextPollAt: ptr(time.Time{})})
}

func (h *Host) pollPayment(ctx context.Context, sp *store.Payment) {
	now := h.now()
	status := core.PaymentStatus(sp.Status)
	if status != core.PaymentCreated && status != core.PaymentProcessing {
		h.stopPolling(ctx, sp)
		return
	}
	if now.Sub(sp.CreatedAt) > h.cfg.Poll.MaxAge {
		h.log.Warn("poll: payment still pending after the polling window; left for a person", "payment", sp.ID)
		h.stopPolling(ctx, sp)
		return
	}
	if sp.Plugin == "" {
		// the create stopped before any provider was called (a crash). The
		// client's retry finishes it (resumePayment), so it is failed only
		// when no retry came for a while; the condition keeps a create that
		// is choosing its channel right now safe
		if now.Sub(sp.CreatedAt) < notFoundAge {
			_, _ = h.movePayment(ctx, sp, "", "poll", "", store.PaymentUpdate{NextPollAt: ptr(sp.CreatedAt.Add(notFoundAge))})
			return
		}
		_, err := h.movePayment(ctx, sp, core.PaymentFailed, "poll", "interrupted before any provider was called", store.PaymentUpdate{
			FailureCode: ptr(string(core.CodeProviderUnavailable)), FailureMessage: ptr("interrupted before any provider was called"),
			NextPollAt: ptr(time.Time{}), RequireNoChannel: true})
		if err != nil {
			h.log.Info("poll: payment took a channel meanwhile", "payment", sp.ID)
		}
		return
	}
	after, err := h.refreshPayment(ctx, sp, "poll")
	if err != nil {
		if core.CodeOf(err) == core.CodeNotFound && sp.ProviderID == "" &&
			sp.PollAttempts+1 >= notFoundAttempts && now.Sub(sp.CreatedAt) >= notFoundAge {
			if h.abandonPayment(ctx, sp) {
				return
			}
		}
		h.log.Warn("poll: payment query failed", "payment", sp.ID, "code", core.CodeOf(err), "err", err)
		after = sp
	}
	if s := core.PaymentStatus(after.Status); s == core.PaymentCreated || s == core.PaymentProcessing {
		_, _ = h.movePayment(ctx, after, "", "poll", "", store.PaymentUpdate{
			NextPollAt: ptr(h.now().Add(h.backoff(after.PollAttempts + 1))), PollAttempts: ptr(after.PollAttempts + 1)})
	}
}

// abandonPayment settles a payment the provider keeps saying it never
// received: it is closed at the provider first, so a create still on its
// way cannot succeed later; when the provider does not know it for closing
// either, it failed. false = still unsettled (keep polling).
func (h *Host) abandonPayment(ctx context.Context, sp *store.Payment) bool {
	c, a, err := h.paymentChannel(sp)
	if err != nil {
		return false
	}
	if supports(a, core.OpPaymentClose) {
		resp, err := callPlugin[core.ClosePaymentResponse](ctx, h, a, c, core.OpPaymentClose, sp.ID,
			&core.ClosePaymentRequest{Payment: h.paymentRef(sp), CreatedAt: h.now()})
		if err == nil {
			closed := resp.Payment
			if closed.Status == "" {
				closed.Status = core.PaymentClosed
			}
			closed.Amount = 0
			_, aerr := h.applyPayment(ctx, sp, closed, "poll")
			return aerr == nil && core.PaymentStatus(closed.Status).Terminal()
		}
		if core.CodeOf(err) != core.CodeNotFound {
			return false
		}
	}
	_, err = h.movePayment(ctx, sp, core.PaymentFailed, "poll", "the provider has no such payment", store.PaymentUpdate{
		FailureCode: ptr(string(core.CodeNotFound)), FailureMessage: ptr("the provider never received the payment"),
		NextPollAt: ptr(time.Time{})})
	return err == nil
}

func (h *Host) pollRefund(ctx context.Context, sr *store.Refund) {
	status := core.RefundStatus(sr.Status)
	if status.Terminal() || h.now().Sub(sr.CreatedAt) > h.cfg.Poll.MaxAge {
		if !status.Terminal() {
			h.log.Warn("poll: refund still pending after the polling window; left for a person", "refund", sr.ID)
		}
		_, _ = h.moveRefund(ctx, sr, "", "poll", "", store.RefundUpdate{NextPollAt: ptr(time.Time{})})
		return
	}
	after, err := h.refreshRefund(ctx, sr, "poll")
	if err != nil && core.CodeOf(err) == core.CodeNotFound && sr.ProviderID == "" {
		// the provider never got it (a crash or a lost request): send the
		// same refund again; its id makes that safe
		after, err = h.resubmitRefund(ctx, sr)
	}
	if err != nil {
		h.log.Warn("poll: refund query failed", "refund", sr.ID, "code", core.CodeOf(err), "err", err)
		after = sr
	}
	if s := core.RefundStatus(after.Status); !s.Terminal() {
		_, _ = h.moveRefund(ctx, after, "", "poll", "", store.RefundUpdate{
			NextPollAt: ptr(h.now().Add(h.backoff(after.PollAttempts + 1))), PollAttempts: ptr(after.PollAttempts + 1)})
	}
}

func (h *Host) resubmitRefund(ctx context.Context, sr *store.Refund) (*store.Refund, error) {
	sp, err := h.store.GetPayment(ctx, sr.PaymentID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load payment")
	}
	c, a, err := h.paymentChannel(sp)
	if err != nil {
		return nil, err
	}
	h.log.Info("poll: provider has no such refund; sending it again", "refund", sr.ID)
	return h.submitRefund(ctx, sp, sr, a, c, "poll")
}
