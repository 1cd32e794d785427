package host

import "context"

// Test hooks: the package's black-box tests drive the background rounds
// themselves (Config.Poll.Disabled, Config.Webhooks.Disabled).

// Poll runs one round of the settlement poller.
func (h *Host) Poll(ctx context.Context) { h.poll(ctx) }

// DeliverWebhooks runs one round of webhook delivery and returns the
// deliveries it attempted.
func (h *Host) DeliverWebhooks(ctx context.Context) int { return h.deliverWebhooks(ctx) }
