package storetest

import (
	"context"
	"time"

	"github.com/payhost/payhost/host/store"
)

func (a *alternate) InsertReceiver(ctx context.Context, r *store.Receiver) error {
	return a.next(ctx).InsertReceiver(ctx, r)
}

func (a *alternate) ReplaceReceiver(ctx context.Context, r *store.Receiver, from string) error {
	return a.next(ctx).ReplaceReceiver(ctx, r, from)
}

func (a *alternate) GetReceiver(ctx context.Context, id string) (*store.Receiver, error) {
	return a.next(ctx).GetReceiver(ctx, id)
}

func (a *alternate) FindReceiver(ctx context.Context, tenant, account, name, channel string) (*store.Receiver, error) {
	return a.next(ctx).FindReceiver(ctx, tenant, account, name, channel)
}

func (a *alternate) FindReceivers(ctx context.Context, tenant, account, name string) ([]*store.Receiver, error) {
	return a.next(ctx).FindReceivers(ctx, tenant, account, name)
}

func (a *alternate) ListReceivers(ctx context.Context, tenant string) ([]*store.Receiver, error) {
	return a.next(ctx).ListReceivers(ctx, tenant)
}

func (a *alternate) InsertSplit(ctx context.Context, sp *store.Split) error {
	return a.next(ctx).InsertSplit(ctx, sp)
}

func (a *alternate) GetSplit(ctx context.Context, id string) (*store.Split, error) {
	return a.next(ctx).GetSplit(ctx, id)
}

func (a *alternate) ListSplits(ctx context.Context, paymentID string) ([]*store.Split, error) {
	return a.next(ctx).ListSplits(ctx, paymentID)
}

func (a *alternate) UpdateSplit(ctx context.Context, u store.SplitUpdate) (*store.Split, error) {
	return a.next(ctx).UpdateSplit(ctx, u)
}

func (a *alternate) ClaimSplitsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Split, error) {
	return a.next(ctx).ClaimSplitsToPoll(ctx, now, lease, limit)
}

func (a *alternate) ClaimPaymentsToSplit(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Payment, error) {
	return a.next(ctx).ClaimPaymentsToSplit(ctx, now, lease, limit)
}

func (a *alternate) InsertPayout(ctx context.Context, p *store.Payout) error {
	return a.next(ctx).InsertPayout(ctx, p)
}

func (a *alternate) GetPayout(ctx context.Context, id string) (*store.Payout, error) {
	return a.next(ctx).GetPayout(ctx, id)
}

func (a *alternate) UpdatePayout(ctx context.Context, u store.PayoutUpdate) (*store.Payout, error) {
	return a.next(ctx).UpdatePayout(ctx, u)
}

func (a *alternate) ClaimPayoutsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Payout, error) {
	return a.next(ctx).ClaimPayoutsToPoll(ctx, now, lease, limit)
}

func (a *alternate) UpsertTerminal(ctx context.Context, t *store.Terminal) error {
	return a.next(ctx).UpsertTerminal(ctx, t)
}

func (a *alternate) FindTerminal(ctx context.Context, account, deviceNo string) (*store.Terminal, error) {
	return a.next(ctx).FindTerminal(ctx, account, deviceNo)
}

func (a *alternate) GetTerminal(ctx context.Context, id string) (*store.Terminal, error) {
	return a.next(ctx).GetTerminal(ctx, id)
}

func (a *alternate) ListTerminals(ctx context.Context, tenant string) ([]*store.Terminal, error) {
	return a.next(ctx).ListTerminals(ctx, tenant)
}

func (a *alternate) InsertSplitReturn(ctx context.Context, r *store.SplitReturn) error {
	return a.next(ctx).InsertSplitReturn(ctx, r)
}

func (a *alternate) GetSplitReturn(ctx context.Context, id string) (*store.SplitReturn, error) {
	return a.next(ctx).GetSplitReturn(ctx, id)
}

func (a *alternate) ListSplitReturns(ctx context.Context, paymentID string) ([]*store.SplitReturn, error) {
	return a.next(ctx).ListSplitReturns(ctx, paymentID)
}

func (a *alternate) UpdateSplitReturn(ctx context.Context, u store.SplitReturnUpdate) (*store.SplitReturn, error) {
	return a.next(ctx).UpdateSplitReturn(ctx, u)
}

func (a *alternate) ClaimSplitReturnsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.SplitReturn, error) {
	return a.next(ctx).ClaimSplitReturnsToPoll(ctx, now, lease, limit)
}
