package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

func openGroupStore(t *testing.T) *Store {
	t.Helper()
	st, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "payhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st.(*Store)
}

func attempt(id string) *store.Attempt {
	return &store.Attempt{ObjectID: id, Operation: "payment.create", Channel: "c", Outcome: "ok", CreatedAt: time.Unix(1, 0)}
}

// Writers that wait for a turn while another holds it go into the same
// transaction: one commit for all of them, each returning once it is
// durable. A writer that fails leaves the others' writes.
func TestGroupCommitsWaitingWritersTogether(t *testing.T) {
	s := openGroupStore(t)
	ctx := context.Background()
	before := s.Stats().Commits

	held, err := s.g.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := held.tx.ExecContext(ctx, s.d.q(`INSERT INTO attempts (object_id, operation, channel, outcome, error_message, duration_ms, created_at)
		VALUES (?, 'payment.create', 'c', 'ok', '', 0, 0)`), "held"); err != nil {
		t.Fatal(err)
	}
	const writers = 20
	errs := make(chan error, writers+1)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.InsertAttempt(ctx, attempt(fmt.Sprintf("w%d", i)))
		}()
	}
	// one writer that fails inside its turn
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs <- s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO attempts (object_id, operation, channel, outcome, error_message, duration_ms, created_at)
				VALUES (?, 'payment.create', 'c', 'ok', '', 0, 0)`), "failed"); err != nil {
				return err
			}
			return errFailedWriter
		})
	}()
	for len(s.g.waiting) < writers+1 {
		runtime.Gosched()
	}
	if err := held.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		switch {
		case errors.Is(err, errFailedWriter):
			failed++
		case err != nil:
			t.Fatal(err)
		}
	}
	if failed != 1 {
		t.Fatalf("failed writers: %d, want 1", failed)
	}
	if got := s.Stats().Commits - before; got != 1 {
		t.Fatalf("commits for %d writers waiting on one turn: %d, want 1", writers+1, got)
	}
	for i := range writers {
		if as, err := s.ListAttempts(ctx, fmt.Sprintf("w%d", i)); err != nil || len(as) != 1 {
			t.Fatalf("writer %d: %d attempts, %v", i, len(as), err)
		}
	}
	for id, want := range map[string]int{"held": 1, "failed": 0} {
		if as, err := s.ListAttempts(ctx, id); err != nil || len(as) != want {
			t.Fatalf("%s: %d attempts (%v), want %d", id, len(as), err, want)
		}
	}
}

var errFailedWriter = errors.New("the writer failed")

// A writer alone commits at the end of its turn.
func TestGroupCommitsALoneWriterAtOnce(t *testing.T) {
	s := openGroupStore(t)
	ctx := context.Background()
	before := s.Stats().Commits
	for i := range 3 {
		if err := s.InsertAttempt(ctx, attempt(fmt.Sprintf("a%d", i))); err != nil {
			t.Fatal(err)
		}
		if got := s.Stats().Commits - before; got != uint64(i+1) {
			t.Fatalf("after %d writes: %d commits", i+1, got)
		}
	}
}

// Many writers at once, some in units that commit twice or roll back, some
// failing inside their turn: every write kept is there exactly once,
// nothing rolled back or failed is, and every writer returned.
func TestGroupUnderLoad(t *testing.T) {
	s := openGroupStore(t)
	ctx := context.Background()
	const writers = 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("w%02d", i)
			switch i % 4 {
			case 0: // a lone write
				errs <- s.InsertAttempt(ctx, attempt(id))
			case 1: // a unit that commits twice
				uctx, u := store.WithUnit(ctx)
				defer u.Close()
				for _, part := range []string{"a", "b"} {
					if err := s.InsertAttempt(uctx, attempt(id+part)); err != nil {
						errs <- err
						return
					}
					if err := u.Commit(); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			case 2: // a unit closed without committing
				uctx, u := store.WithUnit(ctx)
				err := s.InsertAttempt(uctx, attempt(id))
				u.Close()
				errs <- err
			case 3: // a write that fails inside its turn
				err := s.inTx(ctx, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO attempts (object_id, operation, channel, outcome, error_message, duration_ms, created_at)
						VALUES (?, 'payment.create', 'c', 'ok', '', 0, 0)`), id); err != nil {
						return err
					}
					return errFailedWriter
				})
				if errors.Is(err, errFailedWriter) {
					err = nil
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range writers {
		id := fmt.Sprintf("w%02d", i)
		want := map[string]int{}
		switch i % 4 {
		case 0:
			want[id] = 1
		case 1:
			want[id+"a"], want[id+"b"] = 1, 1
		case 2, 3:
			want[id] = 0
		}
		for obj, n := range want {
			as, err := s.ListAttempts(ctx, obj)
			if err != nil {
				t.Fatal(err)
			}
			if len(as) != n {
				t.Errorf("%s: %d rows, want %d", obj, len(as), n)
			}
		}
	}
}
