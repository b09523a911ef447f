package aten

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The thread policy reaches libgomp, which reads it while the loader maps
// it: this test binary runs itself again with OMP_DISPLAY_ENV=verbose, so
// libgomp prints the spin count it settled on.
func TestThreadPolicy(t *testing.T) {
	if os.Getenv("DADASH_POLICY_CHILD") != "" {
		return // the child only needs to start
	}
	spin := regexp.MustCompile(`GOMP_SPINCOUNT = '(\d+)'`)
	for _, c := range []struct {
		env  []string
		want string
	}{
		{nil, "0"}, // PASSIVE: workers sleep at once
		{[]string{"DADASH_THREAD_POLICY=default"}, "300000"}, // libgomp's own default
		{[]string{"OMP_WAIT_POLICY=ACTIVE"}, "30000000000"},  // the user's choice wins
		{[]string{"GOMP_SPINCOUNT=1000"}, "1000"},            // and so does libgomp's knob
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestThreadPolicy$")
		cmd.Env = []string{"DADASH_POLICY_CHILD=1", "OMP_DISPLAY_ENV=verbose"}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "OMP_") && !strings.HasPrefix(kv, "GOMP_") && !strings.HasPrefix(kv, "DADASH_THREAD_POLICY=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, c.env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.env, err, out)
		}
		m := spin.FindSubmatch(out)
		if m == nil {
			t.Fatalf("%v: libgomp printed no GOMP_SPINCOUNT:\n%s", c.env, out)
		}
		if string(m[1]) != c.want {
			t.Errorf("%v: GOMP_SPINCOUNT = %s, want %s", c.env, m[1], c.want)
		}
	}
}
