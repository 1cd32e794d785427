package storetest

import (
	"context"
	"time"

	"github.com/payhost/payhost/host/store"
)

func (a *alternate) InsertWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	return a.next(ctx).InsertWebhookEndpoint(ctx, e)
}

func (a *alternate) GetWebhookEndpoint(ctx context.Context, id string) (*store.WebhookEndpoint, error) {
	return a.next(ctx).GetWebhookEndpoint(ctx, id)
}

func (a *alternate) ListWebhookEndpoints(ctx context.Context, tenant string) ([]*store.WebhookEndpoint, error) {
	return a.next(ctx).ListWebhookEndpoints(ctx, tenant)
}

func (a *alternate) DeleteWebhookEndpoint(ctx context.Context, id string, now time.Time) (*store.WebhookEndpoint, error) {
	return a.next(ctx).DeleteWebhookEndpoint(ctx, id, now)
}

func (a *alternate) GetEvent(ctx context.Context, id string) (*store.Event, error) {
	return a.next(ctx).GetEvent(ctx, id)
}

func (a *alternate) ListEvents(ctx context.Context, q store.EventQuery) ([]*store.Event, error) {
	return a.next(ctx).ListEvents(ctx, q)
}

func (a *alternate) HasWebhookEndpoints(ctx context.Context) (bool, error) {
	return a.next(ctx).HasWebhookEndpoints(ctx)
}

func (a *alternate) WebhookDeliveriesDue(ctx context.Context, now time.Time) (bool, error) {
	return a.next(ctx).WebhookDeliveriesDue(ctx, now)
}

func (a *alternate) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.WebhookDelivery, error) {
	return a.next(ctx).ClaimWebhookDeliveries(ctx, now, lease, limit)
}

func (a *alternate) FinishWebhookDelivery(ctx context.Context, r store.WebhookResult) error {
	return a.next(ctx).FinishWebhookDelivery(ctx, r)
}

func (a *alternate) ListWebhookDeliveries(ctx context.Context, eventID string) ([]*store.WebhookDelivery, error) {
	return a.next(ctx).ListWebhookDeliveries(ctx, eventID)
}

func (a *alternate) ListWebhookAttempts(ctx context.Context, deliveryID int64) ([]*store.WebhookAttempt, error) {
	return a.next(ctx).ListWebhookAttempts(ctx, deliveryID)
}
