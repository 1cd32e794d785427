-- The provider's own code for a failure, beside the canonical failure_code:
-- "declined" with provider code "channel_declined", for instance.
ALTER TABLE payments ADD COLUMN provider_code TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN provider_code TEXT NOT NULL DEFAULT '';
