//go:build !linux

package tensor

// spinFor is 0 where goclip has no way to offer the CPU to other threads
// while it polls: a Pool's waiters block at once (see Waiting in pool.go).
const spinFor = 0

func osYield() {}
