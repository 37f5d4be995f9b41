//go:build !unix && !windows

package hub

import "os"

// tryLock has no OS lock to offer here; acquireLock then uses the
// marker-file fallback.
func tryLock(string) (*fileLock, bool, error) { return nil, false, errLockUnsupported }

func unlockFile(*os.File) error { return nil }

func isDiskFullOS(error) bool { return false }
