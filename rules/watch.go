package rules

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher reloads a rule file into a [Holder] when it changes. Stop it with
// Close or by cancelling the context given to [Holder.WatchFile].
type Watcher struct {
	h      *Holder
	path   string
	base   string
	fsw    *fsnotify.Watcher
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex // serialises reloads
	lastSeen string     // hash of the file content last handled
}

// WatchFile activates the rule file at path and keeps it activated as it
// changes. It watches the file's directory rather than the file, so editors
// that save by writing a new file and renaming it over the old one (and
// Kubernetes ConfigMap symlink swaps) are seen; changes are debounced so a
// half-written save is not read, and content already handled is skipped. A
// change that fails to load is refused and reported (Status, log, audit)
// while the current ruleset keeps serving.
//
// If the file cannot be activated now and no ruleset is active yet,
// WatchFile returns the error and watches nothing.
func (h *Holder) WatchFile(ctx context.Context, path string) (*Watcher, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("rules: watch %s: %w", path, err)
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("rules: watch %s: %w", path, err)
	}
	if err := fsw.Add(filepath.Dir(abs)); err != nil {
		fsw.Close()
		return nil, fmt.Errorf("rules: watch %s: %w", path, err)
	}
	w := &Watcher{h: h, path: path, base: filepath.Base(abs), fsw: fsw, done: make(chan struct{})}
	if err := w.reload(); err != nil && h.Current() == nil {
		fsw.Close()
		return nil, err
	}
	ctx, w.cancel = context.WithCancel(ctx)
	go w.loop(ctx)
	return w, nil
}

// Close stops watching and waits for the watcher to finish.
func (w *Watcher) Close() error {
	w.cancel()
	<-w.done
	var err error
	w.once.Do(func() { err = w.fsw.Close() })
	return err
}

// Done is closed when the watcher has stopped.
func (w *Watcher) Done() <-chan struct{} { return w.done }

func (w *Watcher) relevant(ev fsnotify.Event) bool {
	name := filepath.Base(ev.Name)
	// The file itself, or a "..data"-style symlink swap of a mounted volume.
	return name == w.base || strings.HasPrefix(name, "..")
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if w.relevant(ev) {
				timer.Reset(w.h.opts.Debounce)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.h.log.Error("rules watch error", "path", w.path, "error", err)
			// Events may have been lost: look at the file again.
			timer.Reset(w.h.opts.Debounce)
		case <-timer.C:
			_ = w.reload() // refusals are recorded by the holder
		}
	}
}

// reload reads the file and activates it unless this content was already
// handled (activated or refused), so unrelated directory events and a
// rollback are not undone by re-reading an unchanged file.
func (w *Watcher) reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	data, err := readFileLimited(w.path)
	if err != nil {
		w.h.recordFailure(w.path, err)
		w.lastSeen = ""
		return err
	}
	hash := hashOf(data)
	if hash == w.lastSeen {
		return nil
	}
	w.lastSeen = hash
	_, err = w.h.Activate(w.path, data)
	return err
}
