// Package procs runs payhost processes for the crash test and `payhost
// bench`: start one and wait for its ready line, stop or kill it, read the
// CPU time it has used.
package procs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a running process started by Start.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts bin with args and env (nil: this process's environment),
// its stderr going to log, and waits for the first line it prints on
// stdout (its ready line), which it returns; the rest of stdout is
// discarded. It fails if the process exits first or prints nothing within
// timeout (and is then killed).
func Start(bin string, args, env []string, log io.Writer, timeout time.Duration) (*Process, []byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	lines := make(chan []byte, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		if sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
		for sc.Scan() { // the rest is for people; drain it
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	name := filepath.Base(bin) + " " + strings.Join(args[:min(1, len(args))], "")
	select {
	case l := <-lines:
		return p, l, nil
	case <-p.done:
		return nil, nil, fmt.Errorf("%s exited: %v", name, cmd.ProcessState)
	case <-time.After(timeout):
		p.Kill()
		return nil, nil, fmt.Errorf("%s printed no ready line in %s", name, timeout)
	}
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks the process to stop (SIGTERM) and kills it if it has not
// within 30 seconds.
func (p *Process) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.Kill()
	}
}

// clockTick is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100
// on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// CPUTime is the CPU time (user and system, all threads) the process has
// used so far, read from /proc/PID/stat: Linux only, in steps of 10 ms.
func (p *Process) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		return 0, fmt.Errorf("procs: cpu time: %w", err)
	}
	return parseCPUTime(string(b))
}

// parseCPUTime reads utime and stime, fields 14 and 15 of a
// /proc/PID/stat line; the command name (field 2, in parentheses) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func parseCPUTime(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("procs: cpu time: no command name in /proc stat")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("procs: cpu time: short /proc stat line")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("procs: cpu time: bad field %q in /proc stat", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}
