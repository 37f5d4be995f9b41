// Command goclip runs OpenAI's CLIP on the CPU: zero-shot image
// classification, image and text embeddings, and the tokenizer.
//
//	goclip classify --model DIR --labels cat,dog,wild photo.jpg
//	goclip embed --model DIR --image photo.jpg --text "a photo of a cat"
//	goclip tokenize "a photo of a cat"
//
// Run "goclip help COMMAND" for a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

// command is one subcommand of goclip.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

func commands() []command {
	return []command{
		{"classify", "zero-shot classify images with labels or a prompts file", runClassify},
		{"eval", "evaluate on a dataset with one folder per class: report, confusion matrix, mistakes", runEval},
		{"embed", "print image and text embeddings as JSON lines", runEmbed},
		{"tokenize", "print CLIP token ids as JSON lines", runTokenize},
		{"download", "fetch a model from the Hugging Face Hub into the shared cache", runDownload},
		{"models", "list the CLIP models in the Hugging Face cache", runModels},
		{"convert", "write a model (pytorch_model.bin, OpenCLIP files, ...) as a folder with model.safetensors", runConvert},
		{"index", "index folders of photos (or import goclip-beam's embeddings) for search", runIndex},
		{"search", "search an index by text, by image, or with an embedding", runSearch},
		{"serve", "serve an HTTP API and a web page for zero-shot classification", runServe},
		{"bench", "measure speed and memory: towers, preprocessing, end to end, load time, peak RSS", runBench},
	}
}

// env is what a command reads and writes, so tests can run commands in process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
}

// errSilent marks a failure that was already reported on stderr (e.g. some
// images could not be read): the exit status is 1, with no further message.
var errSilent = errors.New("failed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one goclip command line and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintln(e.stdout, version())
		return 0
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return run(ctx, e, []string{args[1], "--help"})
		}
		usage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			case errors.Is(err, errSilent):
				return 1
			}
			fmt.Fprintf(e.stderr, "goclip %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "goclip: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return 2
}

// version describes this build: the module version (a tagged release when
// installed with go install …@vX.Y.Z, "(devel)" otherwise), the commit it
// was built from when the build knew it, and the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "goclip (no build information)"
	}
	v := "goclip " + bi.Main.Version
	var rev, when, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	if rev != "" {
		v += fmt.Sprintf(" (commit %.12s, %s%s)", rev, when, dirty)
	}
	return v + ", " + bi.GoVersion + ", " + runtime.GOOS + "/" + runtime.GOARCH
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "goclip: CLIP zero-shot image classification and embeddings, in Go.\n\nUsage: goclip COMMAND [flags] [args]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"goclip help COMMAND\" for a command's flags, \"goclip --version\" for the version.\n")
}

// errUsage marks a command-line mistake that was already explained.
var errUsage = errors.New("usage")

// badFlag reports a flag value that makes no sense on stderr and returns
// errUsage (exit status 2), as a flag that does not parse does.
func badFlag(e *env, cmd string, err error) error {
	fmt.Fprintf(e.stderr, "goclip %s: %v\n", cmd, err)
	return errUsage
}

// newFlags makes a FlagSet that reports errors on e.stderr.
// Paragraphs in notes follow the synopsis in the usage text; the flags, if
// the command has any, come last.
func newFlags(e *env, name, synopsis string, notes ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: goclip %s %s\n", name, synopsis)
		for _, n := range notes {
			fmt.Fprintf(e.stderr, "\n%s\n", n)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			fmt.Fprintf(e.stderr, "\n%s takes no flags.\n", name)
			return
		}
		fmt.Fprintf(e.stderr, "\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, allowing them to be mixed with positional arguments
// ("goclip classify a.jpg --labels x,y b.jpg"); "--" ends the flags.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }
