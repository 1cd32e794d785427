package sqlstore

import (
	"net/url"
	"regexp"
	"strings"
)

const redacted = "xxxxx"

var (
	kvPasswordRE     = regexp.MustCompile(`((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*)`)
	brokenUserinfoRE = regexp.MustCompile(`(://[^:/@\s]*:)([^@\s]*)(@)`)
)

// RedactDSN returns dsn with its passwords replaced by xxxxx, for logs and
// error messages: the password of a URL's user info, and password= or
// sslpassword= in a URL's query or a key=value DSN.
func RedactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		if u, err := url.Parse(dsn); err == nil {
			if u.User != nil {
				if _, ok := u.User.Password(); ok {
					u.User = url.UserPassword(u.User.Username(), redacted)
				}
			}
			q := u.Query()
			changed := false
			for k := range q {
				if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
					q.Set(k, redacted)
					changed = true
				}
			}
			if changed {
				u.RawQuery = q.Encode()
			}
			return u.String()
		}
		dsn = brokenUserinfoRE.ReplaceAllString(dsn, "${1}"+redacted+"${3}")
	}
	return kvPasswordRE.ReplaceAllString(dsn, "${1}"+redacted)
}

// dsnSecrets lists the passwords RedactDSN would hide, as they appear in
// dsn and decoded.
func dsnSecrets(dsn string) []string {
	var out []string
	add := func(s string) {
		s = strings.Trim(s, "'")
		if s != "" && s != redacted {
			out = append(out, s)
			if d, err := url.QueryUnescape(s); err == nil && d != s {
				out = append(out, d)
			}
		}
	}
	for _, m := range kvPasswordRE.FindAllStringSubmatch(dsn, -1) {
		add(m[2])
	}
	for _, m := range brokenUserinfoRE.FindAllStringSubmatch(dsn, -1) {
		add(m[2])
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	return out
}

// scrubError hides every password of dsn in err's message. The result still
// unwraps to err for errors.Is and errors.As.
func scrubError(dsn string, err error) error {
	msg := err.Error()
	clean := msg
	for _, s := range dsnSecrets(dsn) {
		clean = strings.ReplaceAll(clean, s, redacted)
	}
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
