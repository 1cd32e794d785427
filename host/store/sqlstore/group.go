package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// Group commit on SQLite. A file-backed SQLite database takes one writer
// at a time and each commit waits for the disk (synchronous=FULL: a fsync
// of the WAL). Writers therefore take turns, each turn a segment of one
// shared transaction, in a savepoint of its own; the transaction commits
// when a segment ends and no other writer is waiting for a turn (or
// maxBatch segments are in it), so under load one fsync makes many
// writers' work durable. A writer whose segment ended returns only once
// the commit that holds it succeeded: what a caller is told is stored is
// on disk, as without batching. A segment that fails is rolled back to
// its savepoint and the other segments stay; a failure that loses the
// transaction (a full disk, an I/O error) fails every segment of it.
//
// Segments hold the turn only while the engine computes (a store.Unit is
// committed before any provider call), so a turn is short; a segment's
// writes are visible to the segments after it in the same transaction,
// which is safe because none of them is durable, or acted upon outside
// the process, before the commit that makes all of them durable.

// maxBatch bounds the segments of one transaction, so that a steady stream
// of writers does not postpone the commit of the first.
const maxBatch = 64

// group hands out turns on SQLite's write connection.
type group struct {
	db      *sql.DB
	turn    chan struct{} // holds a token while a segment runs
	waiting chan struct{} // one token per writer waiting for a turn (buffered, counted by len)
	tx      *sql.Tx       // the open transaction; nil between batches
	cur     *batch        // the batch tx belongs to
	n       int           // segments ended in cur
}

// batch is one transaction of segments: done is closed once it committed
// or failed (err).
type batch struct {
	done chan struct{}
	err  error
}

func newGroup(db *sql.DB) *group {
	return &group{db: db, turn: make(chan struct{}, 1), waiting: make(chan struct{}, 1<<16)}
}

// segment is one writer's turn in the open transaction. It implements
// store.UnitTx: Commit ends it and waits until its writes are durable,
// Rollback undoes them.
type segment struct {
	g     *group
	tx    *sql.Tx
	b     *batch
	ended bool
}

// begin waits for a turn (not cancelled by ctx: turns are short and a
// writer that left the queue could strand a batch) and opens a segment.
func (g *group) begin(ctx context.Context) (*segment, error) {
	select {
	case g.turn <- struct{}{}:
	default:
		g.waiting <- struct{}{}
		g.turn <- struct{}{}
		<-g.waiting
	}
	if g.tx == nil {
		tx, err := g.db.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil {
			<-g.turn
			return nil, fmt.Errorf("sqlstore: begin: %w", err)
		}
		g.tx, g.cur, g.n = tx, &batch{done: make(chan struct{})}, 0
	}
	if _, err := g.tx.ExecContext(context.WithoutCancel(ctx), "SAVEPOINT payhost_segment"); err != nil {
		err = fmt.Errorf("sqlstore: savepoint: %w", err)
		g.fail(err)
		<-g.turn
		return nil, err
	}
	return &segment{g: g, tx: g.tx, b: g.cur}, nil
}

// fail rolls the open transaction back and fails its batch.
func (g *group) fail(err error) {
	_ = g.tx.Rollback() // err is what the batch's writers are told; nothing of it is committed either way
	g.cur.err = err
	close(g.cur.done)
	g.tx, g.cur, g.n = nil, nil, 0
}

// commit commits the open transaction and settles its batch.
func (g *group) commit() {
	b := g.cur
	if err := g.tx.Commit(); err != nil {
		b.err = fmt.Errorf("sqlstore: commit: %w", err)
	}
	close(b.done)
	g.tx, g.cur, g.n = nil, nil, 0
}

// Commit ends the segment keeping its writes and returns once the
// transaction holding them committed.
func (s *segment) Commit() error { return s.end(true) }

// Rollback ends the segment undoing its writes.
func (s *segment) Rollback() error { return s.end(false) }

func (s *segment) end(keep bool) error {
	if s.ended {
		return nil
	}
	s.ended = true
	g, bg := s.g, context.Background()
	if keep {
		if _, err := s.tx.ExecContext(bg, "RELEASE SAVEPOINT payhost_segment"); err != nil {
			err = fmt.Errorf("sqlstore: release savepoint: %w", err)
			g.fail(err)
			<-g.turn
			return err
		}
	} else {
		if _, err := s.tx.ExecContext(bg, "ROLLBACK TO SAVEPOINT payhost_segment"); err != nil {
			// the transaction itself is gone (SQLite rolled it back)
			g.fail(fmt.Errorf("sqlstore: roll back to savepoint: %w", err))
			<-g.turn
			return nil
		}
		// the savepoint's writes are undone already; should RELEASE fail, the
		// transaction is lost and its commit reports it to every segment
		_, _ = s.tx.ExecContext(bg, "RELEASE SAVEPOINT payhost_segment")
	}
	g.n++
	b := s.b
	if len(g.waiting) == 0 || g.n >= maxBatch {
		g.commit()
		<-g.turn
	} else {
		<-g.turn // the next writer's segment goes into this transaction; the last one commits
	}
	if !keep {
		return nil
	}
	<-b.done
	return b.err
}
