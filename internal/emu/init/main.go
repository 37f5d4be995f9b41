//go:build linux

// Command init is the /init of the initramfs that run-avx512.sh boots in
// Bochs. It mounts the pseudo file systems, runs /emu/prog with the arguments
// listed in /emu/args, copies its stdout and stderr to the serial console
// between clear markers, reports the exit code and powers the machine off.
//
// Files read from the initramfs (all written by run-avx512.sh):
//
//	/emu/prog  the static binary to run
//	/emu/args  its arguments, each terminated by a NUL byte
//	/emu/env   extra environment, KEY=VALUE entries terminated by NUL (optional)
//	/emu/dir   working directory, one line (optional; default /emu/files or /)
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The markers run-avx512.sh looks for on the serial console.
const (
	beginMarker = "=====EMU-BEGIN====="
	endMarker   = "=====EMU-END rc=" // followed by the exit code and "====="
)

func main() {
	mounts := []struct{ src, dst, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	}
	for _, m := range mounts {
		_ = os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			fmt.Fprintf(os.Stderr, "emu-init: mount %s: %v\n", m.dst, err)
		}
	}
	_ = os.Chmod("/tmp", 0o1777)

	con := openConsole()
	out := &trackingWriter{w: con, last: '\n'}
	rc := run(con, out)
	nl := ""
	if out.last != '\n' {
		nl = "\n"
	}
	fmt.Fprintf(con, "%s%s%d=====\n", nl, endMarker, rc)
	_ = con.Sync()
	// Give the UART time to drain before the machine goes away.
	time.Sleep(200 * time.Millisecond)
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	for {
		time.Sleep(time.Hour)
	}
}

// openConsole opens the first serial port in raw output mode, so that the
// binary's bytes reach the host unchanged (no \n -> \r\n).
func openConsole() *os.File {
	for _, p := range []string{"/dev/ttyS0", "/dev/console"} {
		f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			continue
		}
		if t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			t.Oflag &^= unix.OPOST
			t.Cflag = t.Cflag&^(unix.CBAUD|unix.CSIZE|unix.PARENB) | unix.B115200 | unix.CS8
			_ = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
		}
		return f
	}
	return os.Stdout
}

func run(con *os.File, out io.Writer) int {
	args, err := readList("/emu/args")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(con, "emu-init: %v\n", err)
		return 125
	}
	env := []string{"PATH=/emu:/bin", "HOME=/tmp", "TMPDIR=/tmp", "TERM=dumb"}
	extra, err := readList("/emu/env")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(con, "emu-init: %v\n", err)
		return 125
	}
	env = append(env, extra...)

	dir := "/"
	if _, err := os.Stat("/emu/files"); err == nil {
		dir = "/emu/files"
	}
	if b, err := os.ReadFile("/emu/dir"); err == nil {
		if d := strings.TrimSpace(string(b)); d != "" {
			dir = d
		}
	}

	// The directory may exist only as the parent of copied fixtures (or not
	// at all): create it, so that "-C pkgdir" works with "-f ../testdata".
	_ = os.MkdirAll(dir, 0o755)

	cmd := exec.Command("/emu/prog", args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = nil
	// One writer for both streams keeps their order as the program wrote it.
	cmd.Stdout = out
	cmd.Stderr = out
	fmt.Fprintf(con, "\n%s\n", beginMarker)
	err = cmd.Run()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fmt.Fprintf(out, "\nemu-init: killed by signal %v\n", ws.Signal())
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintf(con, "emu-init: %v\n", err)
	return 126
}

// trackingWriter remembers the last byte written, so that the end marker
// starts on a line of its own without adding an empty line.
type trackingWriter struct {
	w    io.Writer
	last byte
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if n > 0 {
		t.last = p[n-1]
	}
	return n, err
}

// readList reads NUL-terminated strings.
func readList(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, nil
	}
	var out []string
	for _, s := range bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0}) {
		out = append(out, string(s))
	}
	return out, nil
}
