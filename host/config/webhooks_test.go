package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/host"
)

func TestWebhooksSection(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		environ []string
		want    host.WebhookConfig
		wantErr string
	}{
		{"absent: the engine's defaults", "", nil, host.WebhookConfig{}, ""},
		{"every key", "webhooks: {disabled: true, allow_private: true, interval: 2s, timeout: 5s, retry_first: 10s, retry_max: 30m, max_attempts: 8, lease: 1m}",
			nil, host.WebhookConfig{Disabled: true, AllowPrivate: true, Interval: 2 * time.Second, Timeout: 5 * time.Second,
				RetryFirst: 10 * time.Second, RetryMax: 30 * time.Minute, MaxAttempts: 8, Lease: time.Minute}, ""},
		{"environment overrides", "", []string{"PAYHOST_WEBHOOKS__ALLOW_PRIVATE=true", "PAYHOST_WEBHOOKS__MAX_ATTEMPTS=3"},
			host.WebhookConfig{AllowPrivate: true, MaxAttempts: 3}, ""},
		{"unknown key", "webhooks: {allow_privat: true}", nil, host.WebhookConfig{}, "webhooks.allow_privat: unknown key"},
		{"negative duration", "webhooks: {retry_first: -1s}", nil, host.WebhookConfig{}, "webhooks.retry_first: must not be negative"},
		{"negative attempts", "webhooks: {max_attempts: -1}", nil, host.WebhookConfig{}, "webhooks.max_attempts: must not be negative"},
		{"a bare number", "webhooks: {timeout: 10}", nil, host.WebhookConfig{}, "not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(minimal+tt.yaml+"\n"), "/etc/payhost", Options{Environ: tt.environ})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.Host().Webhooks)
		})
	}
}
