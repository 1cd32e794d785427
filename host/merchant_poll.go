package host

import (
	"context"
	"errors"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// merchantPollWindow is how long an application or request is queried
// after it was sent (a provider's review takes days, not minutes); after
// it, refresh=true still asks.
const merchantPollWindow = 7 * 24 * time.Hour

// pollOnboarding is the poller's round for onboarding: merchants whose
// application or document review is pending, and requests (channel
// activations, real-name authentications) not yet final, each claimed for
// Config.Poll.Lease, queried at the provider and the answer applied. Poll
// calls it.
func (h *Host) pollOnboarding(ctx context.Context, now time.Time, run func(func())) {
	merchants, err := h.store.ClaimMerchantsToPoll(ctx, now, h.cfg.Poll.Lease, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: claim merchants", "err", err)
	}
	for _, sm := range merchants {
		run(func() { h.pollMerchant(ctx, sm) })
	}
	requests, err := h.store.ClaimMerchantRequestsToPoll(ctx, now, h.cfg.Poll.Lease, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: claim merchant requests", "err", err)
	}
	for _, sr := range requests {
		run(func() { h.pollMerchantRequest(ctx, sr) })
	}
}

func (h *Host) stopPollingMerchant(ctx context.Context, sm *store.Merchant) {
	_, _ = h.store.UpdateMerchant(ctx, store.MerchantUpdate{ID: sm.ID, From: sm.Status, FromStage: sm.Stage, NextPollAt: ptr(time.Time{})})
}

func (h *Host) pollMerchant(ctx context.Context, sm *store.Merchant) {
	if sm.Stage == store.StageDraft || merchantSettled(sm.Status) {
		h.stopPollingMerchant(ctx, sm)
		return
	}
	if a, _, err := h.merchantAccount(sm); err == nil && !supports(a, core.OpOnboardingQuery) {
		// the provider cannot be asked: its notification settles the application
		h.stopPollingMerchant(ctx, sm)
		return
	}
	since := sm.CreatedAt
	if sm.SubmittedAt.After(since) {
		since = sm.SubmittedAt
	}
	if h.now().Sub(since) > merchantPollWindow {
		h.log.Warn("poll: merchant still pending after the polling window; refresh=true still asks", "merchant", sm.ID)
		h.stopPollingMerchant(ctx, sm)
		return
	}
	var after *store.Merchant
	var err error
	if sm.Stage == store.StageApplication {
		after, err = h.settleApplication(ctx, sm, "poll")
	} else {
		after, err = h.refreshMerchant(ctx, sm, "poll")
	}
	if err != nil {
		h.log.Warn("poll: merchant query failed", "merchant", sm.ID, "code", core.CodeOf(err), "err", err)
		after = sm
	}
	if after.Stage != store.StageDraft && !merchantSettled(after.Status) {
		_, _ = h.store.UpdateMerchant(ctx, store.MerchantUpdate{ID: after.ID, From: after.Status, FromStage: after.Stage,
			NextPollAt: ptr(h.now().Add(h.backoff(after.PollAttempts + 1))), PollAttempts: ptr(after.PollAttempts + 1)})
	}
}

func (h *Host) stopPollingRequest(ctx context.Context, sr *store.MerchantRequest) {
	_, _ = h.store.UpdateMerchantRequest(ctx, store.MerchantRequestUpdate{ID: sr.ID, From: sr.Status, NextPollAt: ptr(time.Time{})})
}

func (h *Host) pollMerchantRequest(ctx context.Context, sr *store.MerchantRequest) {
	if requestFinal(sr.Status) {
		h.stopPollingRequest(ctx, sr)
		return
	}
	if h.now().Sub(sr.CreatedAt) > merchantPollWindow {
		h.log.Warn("poll: merchant request still pending after the polling window", "request", sr.ID)
		h.stopPollingRequest(ctx, sr)
		return
	}
	sm, err := h.store.GetMerchant(ctx, sr.MerchantID)
	if err != nil {
		h.log.Error("poll: load merchant of request", "request", sr.ID, "err", err)
		return
	}
	after, err := h.refreshRequest(ctx, sm, sr, "poll")
	switch {
	case errors.Is(err, errNoQuery):
		h.stopPollingRequest(ctx, sr)
		return
	case err != nil && core.CodeOf(err) == core.CodeNotFound:
		unknown := sr.Status == string(core.OnboardingDraft) || sr.FailureCode == string(core.CodeUnknownOutcome)
		if sr.PollAttempts+1 >= notFoundAttempts {
			if !unknown {
				// accepted, yet the query cannot see it (Adapay's 商户入驻修改):
				// its notification settles it
				h.log.Info("poll: the provider's query does not know the request; left to its notification", "request", sr.ID)
				h.stopPollingRequest(ctx, sr)
				return
			}
			if h.now().Sub(sr.CreatedAt) >= notFoundAge {
				msg := "the provider never received the request; send it again"
				_, _ = h.applyRequestReport(ctx, sr, requestReport{status: core.OnboardingRejected,
					failureCode: string(core.CodeNotFound), failureMessage: msg, items: rejectAll(sr)}, "poll", "")
				return
			}
		}
		after = sr
	case err != nil:
		h.log.Warn("poll: merchant request query failed", "request", sr.ID, "code", core.CodeOf(err), "err", err)
		after = sr
	}
	if !requestFinal(after.Status) {
		_, _ = h.store.UpdateMerchantRequest(ctx, store.MerchantRequestUpdate{ID: after.ID, From: after.Status,
			NextPollAt: ptr(h.now().Add(h.backoff(after.PollAttempts + 1))), PollAttempts: ptr(after.PollAttempts + 1)})
	}
}

func rejectAll(sr *store.MerchantRequest) []itemReport {
	out := make([]itemReport, 0, len(sr.Items))
	for _, it := range sr.Items {
		out = append(out, itemReport{name: it.Name, status: core.OnboardingRejected})
	}
	return out
}
