// Command payhost runs the Payhost server and its tools: serve, sandbox,
// demo, plugin inspection and rule-file checks. It only wires packages
// together; the work is done in core, rules, host and the plugins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand, addressed by its words ("rules check").
type command struct {
	path    string
	usage   string // arguments, e.g. "FILE [--tx TX.json]"
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) int
}

// cmdEnv is what a command may touch, so commands are testable.
type cmdEnv struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands = map[string]*command{}

// register adds a subcommand; each command file calls it from init.
func register(c *command) {
	if _, dup := commands[c.path]; dup {
		panic("payhost: command registered twice: " + c.path)
	}
	commands[c.path] = c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cmdEnv{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run finds the longest registered command path that prefixes args and runs it.
func run(ctx context.Context, env *cmdEnv, args []string) int {
	for n := min(len(args), 3); n > 0; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c.run(ctx, env, args[n:])
		}
	}
	if len(args) > 0 && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
		fmt.Fprintf(env.stderr, "payhost: unknown command %q\n\n", strings.Join(args, " "))
		usage(env.stderr)
		return 2
	}
	usage(env.stdout)
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: payhost COMMAND [ARGS]")
	fmt.Fprintln(w)
	paths := make([]string, 0, len(commands))
	for p := range commands {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		c := commands[p]
		fmt.Fprintf(w, "  %-40s %s\n", strings.TrimSpace(c.path+" "+c.usage), c.summary)
	}
}

// flagExit is a command's exit code after its flags failed to parse: 0
// when the user asked for --help (the usage was printed), else code.
func flagExit(err error, code int) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return code
}
