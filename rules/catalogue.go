package rules

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/payhost/payhost/core"
)

// Catalogue tells the rules engine which channels the host can serve and
// their limits. The host implements it structurally; [StaticCatalogue] is
// a fixed one, e.g. loaded from a YAML file for the CLI.
type Catalogue interface {
	LookupChannel(core.Channel) (core.ChannelInfo, bool)
}

// StaticCatalogue is an immutable [Catalogue] built from a list of
// channels. It is safe for concurrent use.
type StaticCatalogue struct {
	byChannel map[core.Channel]core.ChannelInfo
	list      []core.ChannelInfo
}

// NewStaticCatalogue checks the channels (valid plugin, account and method,
// known currencies, non-negative limits, no duplicates) and returns a
// catalogue of them.
func NewStaticCatalogue(infos ...core.ChannelInfo) (*StaticCatalogue, error) {
	c := &StaticCatalogue{byChannel: make(map[core.Channel]core.ChannelInfo, len(infos))}
	for _, in := range infos {
		if err := checkChannelInfo(in); err != nil {
			return nil, err
		}
		if _, dup := c.byChannel[in.Channel]; dup {
			return nil, fmt.Errorf("catalogue: channel %s listed twice", in.Channel)
		}
		in.Currencies = slices.Clone(in.Currencies)
		c.byChannel[in.Channel] = in
		c.list = append(c.list, in)
	}
	return c, nil
}

func checkChannelInfo(in core.ChannelInfo) error {
	if _, err := core.ParseChannel(in.Channel.String()); err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	for _, cur := range in.Currencies {
		if !cur.Valid() {
			return fmt.Errorf("catalogue: channel %s: unknown currency %q", in.Channel, cur)
		}
	}
	l := in.Limits
	if l.MaxSplitReceivers < 0 || l.MinAmount < 0 || l.MaxAmount < 0 {
		return fmt.Errorf("catalogue: channel %s: negative limit", in.Channel)
	}
	if l.MaxAmount > 0 && l.MinAmount > l.MaxAmount {
		return fmt.Errorf("catalogue: channel %s: min_amount %d above max_amount %d", in.Channel, l.MinAmount, l.MaxAmount)
	}
	return nil
}

// LookupChannel returns what the catalogue knows about ch. The
// Currencies slice is shared: do not modify it.
func (c *StaticCatalogue) LookupChannel(ch core.Channel) (core.ChannelInfo, bool) {
	in, ok := c.byChannel[ch]
	return in, ok
}

// Channels returns every channel of the catalogue in file order.
func (c *StaticCatalogue) Channels() []core.ChannelInfo {
	out := make([]core.ChannelInfo, len(c.list))
	for i, in := range c.list {
		in.Currencies = slices.Clone(in.Currencies)
		out[i] = in
	}
	return out
}

// ParseCatalogue parses a catalogue file (see docs/rules.md): a list of
// accounts, each a plugin and account with its methods, currencies and
// limits. name is used in error messages. A refused file yields a
// *[ValidationError].
func ParseCatalogue(name string, data []byte) (*StaticCatalogue, error) {
	is := &issues{file: name}
	var spec catalogueSpec
	ps := parseYAML(data, &spec, is)
	if err := is.err(); err != nil {
		return nil, err
	}
	var infos []core.ChannelInfo
	seen := map[core.Channel]bool{}
	for i, a := range spec.Accounts {
		p := ps.at("accounts", i)
		id := a.Plugin + "/" + a.Account
		if len(a.Methods) == 0 {
			is.add(p, "account", id, "methods", "at least one method is required")
		}
		var curs []core.Currency
		for j, s := range a.Currencies {
			cur := core.Currency(s)
			if !cur.Valid() {
				is.add(ps.at("accounts", i, "currencies", j), "account", id, "currencies", "unknown currency %q", s)
				continue
			}
			curs = append(curs, cur)
		}
		lim := core.Limits{MaxSplitReceivers: a.Limits.MaxSplitReceivers, MinAmount: a.Limits.MinAmount, MaxAmount: a.Limits.MaxAmount}
		for j, m := range a.Methods {
			ch, err := core.ParseChannel(a.Plugin + "/" + a.Account + "/" + m)
			if err != nil {
				is.add(ps.at("accounts", i, "methods", j), "account", id, "methods", "%s", strings.TrimPrefix(err.Error(), "channel "))
				continue
			}
			if seen[ch] {
				is.add(ps.at("accounts", i, "methods", j), "account", id, "methods", "channel %s listed twice", ch)
				continue
			}
			seen[ch] = true
			in := core.ChannelInfo{Channel: ch, Currencies: curs, Limits: lim}
			if err := checkChannelInfo(in); err != nil {
				is.add(ps.at("accounts", i, "limits"), "account", id, "limits", "%s", strings.TrimPrefix(err.Error(), "catalogue: "))
				continue
			}
			infos = append(infos, in)
		}
	}
	if err := is.err(); err != nil {
		return nil, err
	}
	return NewStaticCatalogue(infos...)
}

// LoadCatalogueFile reads and parses a catalogue file.
func LoadCatalogueFile(path string) (*StaticCatalogue, error) {
	data, err := readFileLimited(path)
	if err != nil {
		return nil, err
	}
	return ParseCatalogue(path, data)
}

// readFileLimited reads a rule or catalogue file, refusing huge ones.
func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("rules: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("rules: %s is larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}
