package tensor

import (
	"syscall"
	"time"
)

// spinFor is how long a Pool's waiters poll before they block (see
// Waiting in pool.go).
const spinFor = 100 * time.Microsecond

// osYield offers the CPU to other threads (sched_yield).
func osYield() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
