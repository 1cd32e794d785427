package rules

import (
	"fmt"
	"strings"
)

// Issue is one problem found while loading a rule or catalogue file, with
// where it is: the file, the line and column of the YAML node, the rule it
// belongs to and, for an expression, the position inside the expression.
type Issue struct {
	File       string `json:"file"`
	Line       int    `json:"line,omitempty"`
	Column     int    `json:"column,omitempty"`
	Kind       string `json:"kind,omitempty"`    // routing, default_route, split, fee, test or channel
	RuleID     string `json:"rule_id,omitempty"` // rule id, or test name for a test
	Field      string `json:"field,omitempty"`   // key in the rule, e.g. "when"
	ExprLine   int    `json:"expr_line,omitempty"`
	ExprColumn int    `json:"expr_column,omitempty"` // 1-based column inside the expression
	Message    string `json:"message"`
}

// String renders the issue as "file:line:col: kind rule "id": field: message".
func (i Issue) String() string {
	var b strings.Builder
	b.WriteString(i.File)
	if i.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", i.Line, i.Column)
	}
	b.WriteString(": ")
	if i.Kind != "" {
		switch {
		case i.Kind == "test" || i.Kind == "account":
			fmt.Fprintf(&b, "%s %q: ", i.Kind, i.RuleID)
		case i.RuleID != "":
			fmt.Fprintf(&b, "%s rule %q: ", i.Kind, i.RuleID)
		default:
			fmt.Fprintf(&b, "%s: ", i.Kind)
		}
	}
	if i.Field != "" {
		b.WriteString(i.Field)
		if i.ExprColumn > 0 {
			if i.ExprLine > 1 {
				fmt.Fprintf(&b, " (expression line %d column %d)", i.ExprLine, i.ExprColumn)
			} else {
				fmt.Fprintf(&b, " (expression column %d)", i.ExprColumn)
			}
		}
		b.WriteString(": ")
	}
	b.WriteString(i.Message)
	return b.String()
}

// ValidationError is returned by [Load] and friends when a file is refused.
// It lists every issue found, in file order.
type ValidationError struct {
	Issues []Issue
}

// Error renders every issue on its own line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		lines[i] = is.String()
	}
	return strings.Join(lines, "\n")
}

// issues collects problems while a file is checked.
type issues struct {
	file string
	list []Issue
}

func (s *issues) add(p pos, kind, id, field, format string, args ...any) {
	s.list = append(s.list, Issue{File: s.file, Line: p.Line, Column: p.Column, Kind: kind, RuleID: id, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (s *issues) addIssue(is Issue) {
	is.File = s.file
	s.list = append(s.list, is)
}

func (s *issues) err() error {
	if len(s.list) == 0 {
		return nil
	}
	return &ValidationError{Issues: s.list}
}

// pos is a 1-based line and column in a YAML file.
type pos struct {
	Line, Column int
}
