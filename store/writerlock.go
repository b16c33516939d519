package store

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// writerLock queues the write transactions of all processes on a project fairly. SQLite's own
// busy handler polls with sleeps of up to 100 ms, so a process that writes in a tight loop
// (a batch inference writer) can starve another (the inspector's decisions) until the busy
// timeout expires. A blocking flock on "<project>-writer" is woken by the kernel as soon as
// the holder releases it. The lock only adds fairness: correctness rests on SQLite's locking,
// and any failure of the lock file falls back to SQLite alone.
type writerLock struct {
	f *os.File // nil when the lock file cannot be opened (read-only folder)
}

// lockWait bounds the wait for the writer lock; after it SQLite's busy timeout still applies.
const lockWait = 10 * time.Second

func openWriterLock(dbPath string) writerLock {
	f, err := os.OpenFile(dbPath+"-writer", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return writerLock{}
	}
	return writerLock{f}
}

func (l writerLock) close() {
	if l.f != nil {
		l.f.Close()
	}
}

// lock takes the lock, or gives up after lockWait or when ctx ends; it returns the unlock
// function (a no-op when the lock was not taken).
func (l writerLock) lock(ctx context.Context) func() {
	if l.f == nil {
		return func() {}
	}
	fd := int(l.f.Fd())
	unlock := func() { syscall.Flock(fd, syscall.LOCK_UN) }
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		return unlock
	} else if !errors.Is(err, syscall.EWOULDBLOCK) {
		return func() {}
	}
	done := make(chan error, 1)
	go func() {
		for {
			err := syscall.Flock(fd, syscall.LOCK_EX)
			if err != syscall.EINTR {
				done <- err
				return
			}
		}
	}()
	timer := time.NewTimer(lockWait)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return func() {}
		}
		return unlock
	case <-ctx.Done():
	case <-timer.C:
	}
	// Give up waiting; release the lock if the blocked call gets it later.
	go func() {
		if <-done == nil {
			unlock()
		}
	}()
	return func() {}
}
