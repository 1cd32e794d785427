-- The webhook delivery log keeps a status code and an error class, never
-- what the endpoint answered or the text of a connection error (a tenant
-- picks the URL; the log must not let it read an internal address's answer
-- or map its open ports). Answers stored before are wiped, and stored
-- error texts become their class. webhook_attempts.response_body stays,
-- always empty, so a node of the previous version keeps working during a
-- rolling upgrade.

UPDATE webhook_attempts SET response_body = '' WHERE response_body <> '';

UPDATE webhook_attempts SET error_message = CASE
    WHEN status_code BETWEEN 300 AND 399 THEN 'http_3xx'
    WHEN status_code BETWEEN 400 AND 499 THEN 'http_4xx'
    WHEN status_code BETWEEN 500 AND 599 THEN 'http_5xx'
    WHEN status_code <> 0 THEN 'http_other'
    WHEN error_message LIKE 'interrupted%' THEN 'interrupted'
    WHEN error_message LIKE 'no answer within%' THEN 'timeout'
    WHEN error_message LIKE '%is not public%' THEN 'address_not_allowed'
    WHEN error_message LIKE '%no such host%' OR error_message LIKE '%lookup %' THEN 'dns'
    WHEN error_message LIKE '%connection refused%' THEN 'connection_refused'
    WHEN error_message LIKE '%connection reset%' OR error_message LIKE '%EOF%' THEN 'connection_reset'
    WHEN error_message LIKE '%unreachable%' THEN 'unreachable'
    WHEN error_message LIKE '%tls:%' OR error_message LIKE '%x509:%' OR error_message LIKE '%certificate%' THEN 'tls'
    WHEN error_message LIKE '%malformed HTTP%' THEN 'protocol_error'
    ELSE 'connection_error' END
WHERE error_message <> '';

UPDATE webhook_deliveries SET last_error = CASE
    WHEN last_error = 'the endpoint was deleted' THEN last_error
    WHEN last_status_code BETWEEN 300 AND 399 THEN 'http_3xx'
    WHEN last_status_code BETWEEN 400 AND 499 THEN 'http_4xx'
    WHEN last_status_code BETWEEN 500 AND 599 THEN 'http_5xx'
    WHEN last_status_code <> 0 THEN 'http_other'
    WHEN last_error LIKE 'interrupted%' THEN 'interrupted'
    WHEN last_error LIKE 'no answer within%' THEN 'timeout'
    WHEN last_error LIKE '%is not public%' THEN 'address_not_allowed'
    WHEN last_error LIKE '%no such host%' OR last_error LIKE '%lookup %' THEN 'dns'
    WHEN last_error LIKE '%connection refused%' THEN 'connection_refused'
    WHEN last_error LIKE '%connection reset%' OR last_error LIKE '%EOF%' THEN 'connection_reset'
    WHEN last_error LIKE '%unreachable%' THEN 'unreachable'
    WHEN last_error LIKE '%tls:%' OR last_error LIKE '%x509:%' OR last_error LIKE '%certificate%' THEN 'tls'
    WHEN last_error LIKE '%malformed HTTP%' THEN 'protocol_error'
    ELSE 'connection_error' END
WHERE last_error <> '';
