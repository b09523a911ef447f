// Command dadash runs deep-metric-learning recipes written in Starlark and
// offers a REPL to explore embeddings. See `dadash --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"go.starlark.net/starlark"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/dadash/dadash/interp"
	"github.com/dadash/dadash/lang"
	"github.com/dadash/dadash/stdlib"
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
var version string

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	return c.main(args)
}

// Exit statuses.
const (
	exitOK        = 0
	exitError     = 1 // the script failed
	exitUsage     = 2 // the command line is wrong
	exitInterrupt = 130
)

// A command is a subcommand: dadash NAME [args...].
type command struct {
	name    string
	args    string // argument synopsis for the usage line
	summary string
	run     func(c *cli, args []string) int
}

// commands is the dispatch table; a subcommand adds itself with addCommand
// from its file's init.
var commands = map[string]*command{}

func addCommand(cmd *command) { commands[cmd.name] = cmd }

func init() {
	addCommand(&command{"run", "FILE.star [args...]", "run a script (the same as dadash FILE.star)", (*cli).runCommand})
	addCommand(&command{"version", "", "print the versions of dadash and its libraries", (*cli).versionCommand})
	addCommand(&command{"help", "[COMMAND]", "print this help, or a command's", (*cli).helpCommand})
}

// cli is one invocation: its streams and the global flags.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	sets       []string // --set key=value
	flags      []string // --name value after a script, as "name=value" ("name": bare)
	describe   bool     // --help after a script
	threads    int      // --threads N; 0: the modules' default (env, else all cores)
	program    string   // -c PROGRAM
	hasProgram bool

	limits // --sandbox, --allow-read/--allow-write, --max-steps, --max-memory (sandbox.go)
}

var errHelp = errors.New("help requested")

// usageError reports a wrong command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func (c *cli) main(args []string) int {
	args, err := c.parseFlags(args, true)
	if err == errHelp {
		c.usage(c.stdout)
		return exitOK
	}
	if err != nil {
		return c.fail(err)
	}
	switch {
	case c.hasProgram:
		return c.runProgram(args)
	case len(args) == 0:
		return c.repl()
	}
	if cmd, ok := commands[args[0]]; ok {
		return cmd.run(c, args[1:])
	}
	return c.runScript(args)
}

// parseFlags consumes the global flags at the front of args.
func (c *cli) parseFlags(args []string, allowProgram bool) ([]string, error) {
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return args[1:], nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return args, nil
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takeValue := func() (string, error) {
			if hasValue {
				args = args[1:]
				return value, nil
			}
			if len(args) < 2 {
				return "", usagef("%s needs a value", a)
			}
			v := args[1]
			args = args[2:]
			return v, nil
		}
		switch {
		case name == "h" || name == "help":
			return nil, errHelp
		case name == "set":
			v, err := takeValue()
			if err != nil {
				return nil, usagef("--set needs key=value")
			}
			c.sets = append(c.sets, v)
		case name == "threads":
			v, err := takeValue()
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, usagef("--threads %s: want a positive number of threads", v)
			}
			c.threads = n
		case c.limitFlag(name):
			v := ""
			if limitTakesValue(name) {
				var err error
				if v, err = takeValue(); err != nil {
					return nil, err
				}
			} else {
				args = args[1:]
			}
			if err := c.setLimit(name, v); err != nil {
				return nil, err
			}
		case name == "c" && allowProgram && !strings.HasPrefix(a, "--"):
			v, err := takeValue()
			if err != nil {
				return nil, usagef("-c needs a program, e.g. dadash -c 'print(1 + 1)'")
			}
			c.program, c.hasProgram = v, true
			return args, nil // the rest belongs to the program
		default:
			return nil, usagef("unknown flag %s", a)
		}
	}
	return args, nil
}

// scriptArgs separates the settings that follow a script from the
// arguments passed to it: --set key=value, --name value, --name=value and a
// bare --name are settings (config() checks the names), --help describes
// the script instead of running it, --threads N is dadash's flag, and the
// rest (positional words, everything after "--") goes to args.
func (c *cli) scriptArgs(args []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(rest, args[i+1:]...), nil
		case a == "--set" || a == "-set":
			if i+1 == len(args) {
				return nil, usagef("--set needs key=value")
			}
			c.sets = append(c.sets, args[i+1])
			i++
		case strings.HasPrefix(a, "--set="), strings.HasPrefix(a, "-set="):
			c.sets = append(c.sets, a[strings.IndexByte(a, '=')+1:])
		case a == "--help" || a == "-h" || a == "-help":
			c.describe = true
		case a == "--threads" || strings.HasPrefix(a, "--threads="):
			v, hasValue := strings.CutPrefix(a, "--threads=")
			if !hasValue {
				if i+1 == len(args) {
					return nil, usagef("--threads needs a number")
				}
				v = args[i+1]
				i++
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, usagef("--threads %s: want a positive number of threads", v)
			}
			c.threads = n
		case strings.HasPrefix(a, "--") && len(a) > 2:
			name, value, hasValue := strings.Cut(a[2:], "=")
			switch {
			case hasValue:
				c.flags = append(c.flags, name+"="+value)
			case i+1 < len(args) && !strings.HasPrefix(args[i+1], "--"):
				c.flags = append(c.flags, name+"="+args[i+1])
				i++
			default:
				c.flags = append(c.flags, name) // a bare flag: True for a bool setting
			}
		default:
			rest = append(rest, a)
		}
	}
	return rest, nil
}

// host makes the interpreter host for this invocation.
func (c *cli) host() (*interp.Host, error) { return c.hostWith(nil) }

// hostWith is host with extra predeclared names (a subcommand's hooks).
func (c *cli) hostWith(extra starlark.StringDict) (*interp.Host, error) {
	lang.SetThreads(c.threads)
	opts := interp.Options{
		Stdout:        c.stdout,
		Stderr:        c.stderr,
		Overrides:     c.sets,
		Flags:         c.flags,
		Describe:      c.describe,
		Stdlib:        stdlib.FS,
		HandleSignals: true,
		Predeclared:   extra,
	}
	c.applyLimits(&opts)
	return interp.New(opts)
}

func (c *cli) runScript(args []string) int {
	path := args[0]
	st, err := os.Stat(path)
	switch {
	case err != nil && os.IsNotExist(err):
		if strings.HasSuffix(path, ".star") || strings.ContainsAny(path, `/\.`) {
			return c.fail(usagef("no such script %s", path))
		}
		return c.fail(usagef("no such script or command %s", path))
	case err != nil:
		return c.fail(err)
	case st.IsDir():
		return c.fail(usagef("%s is a folder, not a script", path))
	}
	rest, err := c.scriptArgs(args[1:])
	if err != nil {
		return c.fail(err)
	}
	c.rootArgs = rest
	h, err := c.host()
	if err != nil {
		return c.fail(err)
	}
	return c.fail(h.RunFile(context.Background(), path, rest))
}

func (c *cli) runProgram(args []string) int {
	rest, err := c.scriptArgs(args)
	if err != nil {
		return c.fail(err)
	}
	c.rootArgs = rest
	h, err := c.host()
	if err != nil {
		return c.fail(err)
	}
	return c.fail(h.RunString(context.Background(), "<cmd>", c.program, rest))
}

func (c *cli) repl() int {
	h, err := c.host()
	if err != nil {
		return c.fail(err)
	}
	return c.fail(h.REPL(context.Background(), c.stdin, c.stdout))
}

func (c *cli) runCommand(args []string) int {
	if isLaunch(args) { // dadash run --nproc_per_node N ... (launch.go)
		return c.launchCommand(args)
	}
	args, err := c.parseFlags(args, false)
	if err == errHelp {
		c.commandUsage(c.stdout, commands["run"])
		return exitOK
	}
	if err != nil {
		return c.fail(err)
	}
	if len(args) == 0 {
		return c.fail(usagef("run: missing script (usage: dadash run FILE.star [args...])"))
	}
	return c.runScript(args)
}

func (c *cli) versionCommand(args []string) int {
	args, err := c.parseFlags(args, false)
	if err == errHelp {
		c.commandUsage(c.stdout, commands["version"])
		return exitOK
	}
	if err != nil {
		return c.fail(err)
	}
	if len(args) > 0 {
		return c.fail(usagef("version takes no arguments, got %s", args[0]))
	}
	fmt.Fprintln(c.stdout, "dadash", versionString())
	for _, line := range lang.Versions() {
		fmt.Fprintln(c.stdout, line)
	}
	return exitOK
}

func (c *cli) helpCommand(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		c.usage(c.stdout)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return c.fail(usagef("help: no command %s", args[0]))
	}
	// Every command prints its own usage for --help: one text per command.
	return cmd.run(c, []string{"--help"})
}

// versionString is the linked-in version, else the module version, else "dev".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// fail prints err (if any) and returns the exit status it calls for.
func (c *cli) fail(err error) int {
	recordFailure(err) // for dadash run --nproc_per_node (launch.go)
	var ue *usageError
	var oe *interp.OverrideError
	switch {
	case err == nil, errors.Is(err, interp.ErrDescribed):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "dadash: %s\nRun 'dadash --help' for usage.\n", ue.msg)
		return exitUsage
	case errors.As(err, &oe):
		fmt.Fprintf(c.stderr, "dadash: %s\n", oe.Msg)
		return exitUsage
	case errors.Is(err, lang.ErrInterrupted):
		fmt.Fprintln(c.stderr, interp.FormatError(err))
		return exitInterrupt
	}
	fmt.Fprintln(c.stderr, interp.FormatError(err))
	return exitError
}

const usageText = `usage: dadash [flags] [FILE.star [args...]]
       dadash [flags] COMMAND [args...]

Runs a Starlark script with dadash's modules, or starts the REPL when no
script is given. Statements piped to dadash run like a script: the first
error stops them with status 1.

Commands:
%s
Flags:
  -c PROGRAM        run PROGRAM instead of a file
  --set key=value   override a config() setting; repeatable, and also
                    accepted after the script
  --threads N       CPU threads for tensor maths (default: $DADASH_NUM_THREADS,
                    else $OMP_NUM_THREADS, else all %d cores)
  --sandbox         confine the script: it reads only its own folder, --allow-read
                    folders and the data the command line names (source_path,
                    weights, resume, test_path), writes only --allow-write folders
                    and save_path, and sees no environment variables (README)
  --allow-read DIR, --allow-write DIR
                    more folders (or files) a --sandbox run may read or write;
                    repeatable
  --max-steps N     stop a script after N Starlark execution steps (default: no
                    limit, %d with --sandbox; 0: no limit)
  --max-memory SIZE budget of script values (e.g. 512M, 8G; default %s: a quarter
                    of memory, at most 4G); tensors are outside it
  -h, --help        print this help

Arguments after the script go to its args list, except --set key=value
(use -- to pass everything after it as is).
Exit status: 0 success, 1 script error, 2 usage error, 130 interrupted.
`

func (c *cli) usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		cmd := commands[n]
		fmt.Fprintf(&b, "  %-28s %s\n", strings.TrimSpace(cmd.name+" "+cmd.args), cmd.summary)
	}
	fmt.Fprintf(w, usageText, b.String(), runtime.NumCPU(), sandboxSteps, sizeFlag(interp.DefaultMaxMemory()))
}

func (c *cli) commandUsage(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "usage: dadash %s\n\n%s.\n", strings.TrimSpace(cmd.name+" "+cmd.args), strings.ToUpper(cmd.summary[:1])+cmd.summary[1:])
	if cmd.name == "run" {
		fmt.Fprint(w, "\nFlags before FILE: --set key=value, --threads N, --sandbox, --allow-read DIR,\n--allow-write DIR, --max-steps N, --max-memory SIZE (see dadash --help).\nAfter FILE, --set key=value and --name value are settings, --help describes the script; other words go to args.\n")
		fmt.Fprint(w, "Data-parallel training: dadash run --nproc_per_node N FILE.star starts N processes\n(dadash run --nproc_per_node N --help for the launcher's flags).\n")
	}
}
