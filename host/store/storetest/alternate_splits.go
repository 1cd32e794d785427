package storetest

import (
	"context"
	"time"

	"github.com/payhost/payhost/host/store"
)

func (a *alternate) InsertReceiver(ctx context.Context, r *store.Receiver) error {
	return a.next().InsertReceiver(ctx, r)
}

func (a *alternate) ReplaceReceiver(ctx context.Context, r *store.Receiver, from string) error {
	return a.next().ReplaceReceiver(ctx, r, from)
}

func (a *alternate) GetReceiver(ctx context.Context, id string) (*store.Receiver, error) {
	return a.next().GetReceiver(ctx, id)
}

func (a *alternate) FindReceiver(ctx context.Context, tenant, account, name, channel string) (*store.Receiver, error) {
	return a.next().FindReceiver(ctx, tenant, account, name, channel)
}

func (a *alternate) FindReceivers(ctx context.Context, tenant, account, name string) ([]*store.Receiver, error) {
	return a.next().FindReceivers(ctx, tenant, account, name)
}

func (a *alternate) ListReceivers(ctx context.Context, tenant string) ([]*store.Receiver, error) {
	return a.next().ListReceivers(ctx, tenant)
}

func (a *alternate) InsertSplit(ctx context.Context, sp *store.Split) error {
	return a.next().InsertSplit(ctx, sp)
}

func (a *alternate) GetSplit(ctx context.Context, id string) (*store.Split, error) {
	return a.next().GetSplit(ctx, id)
}

func (a *alternate) ListSplits(ctx context.Context, paymentID string) ([]*store.Split, error) {
	return a.next().ListSplits(ctx, paymentID)
}

func (a *alternate) UpdateSplit(ctx context.Context, u store.SplitUpdate) (*store.Split, error) {
	return a.next().UpdateSplit(ctx, u)
}

func (a *alternate) ClaimSplitsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Split, error) {
	return a.next().ClaimSplitsToPoll(ctx, now, lease, limit)
}

func (a *alternate) ClaimPaymentsToSplit(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Payment, error) {
	return a.next().ClaimPaymentsToSplit(ctx, now, lease, limit)
}

func (a *alternate) InsertPayout(ctx context.Context, p *store.Payout) error {
	return a.next().InsertPayout(ctx, p)
}

func (a *alternate) GetPayout(ctx context.Context, id string) (*store.Payout, error) {
	return a.next().GetPayout(ctx, id)
}

func (a *alternate) UpdatePayout(ctx context.Context, u store.PayoutUpdate) (*store.Payout, error) {
	return a.next().UpdatePayout(ctx, u)
}

func (a *alternate) ClaimPayoutsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Payout, error) {
	return a.next().ClaimPayoutsToPoll(ctx, now, lease, limit)
}

func (a *alternate) UpsertTerminal(ctx context.Context, t *store.Terminal) error {
	return a.next().UpsertTerminal(ctx, t)
}

func (a *alternate) FindTerminal(ctx context.Context, account, deviceNo string) (*store.Terminal, error) {
	return a.next().FindTerminal(ctx, account, deviceNo)
}

func (a *alternate) GetTerminal(ctx context.Context, id string) (*store.Terminal, error) {
	return a.next().GetTerminal(ctx, id)
}

func (a *alternate) ListTerminals(ctx context.Context, tenant string) ([]*store.Terminal, error) {
	return a.next().ListTerminals(ctx, tenant)
}

func (a *alternate) InsertSplitReturn(ctx context.Context, r *store.SplitReturn) error {
	return a.next().InsertSplitReturn(ctx, r)
}

func (a *alternate) GetSplitReturn(ctx context.Context, id string) (*store.SplitReturn, error) {
	return a.next().GetSplitReturn(ctx, id)
}

func (a *alternate) ListSplitReturns(ctx context.Context, paymentID string) ([]*store.SplitReturn, error) {
	return a.next().ListSplitReturns(ctx, paymentID)
}

func (a *alternate) UpdateSplitReturn(ctx context.Context, u store.SplitReturnUpdate) (*store.SplitReturn, error) {
	return a.next().UpdateSplitReturn(ctx, u)
}

func (a *alternate) ClaimSplitReturnsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.SplitReturn, error) {
	return a.next().ClaimSplitReturnsToPoll(ctx, now, lease, limit)
}
