package rules

// reloadForTest runs one reload as the watcher's loop would; tests call it
// only after the watcher has handled the current file content.
func (w *Watcher) reloadForTest() error { return w.reload() }
