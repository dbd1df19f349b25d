package e2e

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock returns the first ```sh block after the heading.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, heading)
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```sh\n")
	end := strings.Index(s[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatalf("README: no sh block after %q", heading)
	}
	return s[start+6 : start+6+end]
}

// awsCLIs finds AWS CLI v2 (Debian's awscli, /usr/bin/aws) and v1 (the
// awscli Python module): name → a command that runs it.
func awsCLIs(t *testing.T) map[string]string {
	t.Helper()
	clis := map[string]string{}
	if out, err := exec.Command("/usr/bin/aws", "--version").CombinedOutput(); err == nil && strings.HasPrefix(string(out), "aws-cli/2.") {
		clis["v2"] = "/usr/bin/aws"
	}
	if out, err := exec.Command("python3", "-m", "awscli", "--version").CombinedOutput(); err == nil && strings.HasPrefix(string(out), "aws-cli/1.") {
		clis["v1"] = "python3 -m awscli"
	}
	if clis["v2"] == "" {
		t.Fatal("AWS CLI v2 not found at /usr/bin/aws: scripts/test-deps.sh installs Debian's awscli")
	}
	if clis["v1"] == "" {
		t.Log("AWS CLI v1 (the awscli Python module) not found: the tour runs with v2 only")
	}
	return clis
}

// TestREADMETour runs the README's AWS CLI tour exactly as written (the
// block is read from the README, so the two cannot drift), once with AWS
// CLI v2 and once with v1, and checks that the record comes back as hello
// and that the server the tour starts is the one its last line stops.
func TestREADMETour(t *testing.T) {
	block := readmeBlock(t, "## A five-minute tour with the AWS CLI")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for name, cli := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) {
			if ln, err := net.Listen("tcp", "127.0.0.1:4566"); err != nil {
				t.Fatalf("the tour needs 127.0.0.1:4566, which is in use: %v", err)
			} else {
				ln.Close()
			}
			bin := t.TempDir()
			wrapper := "#!/bin/sh\nexec " + cli + " \"$@\"\n"
			if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(wrapper), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(filepath.Join(root, "hello.txt")) })
			cmd := exec.Command("bash", "-e", "-c", block)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "RHEOS_DATA_DIR="+t.TempDir(), "AWS_PAGER=")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(3 * time.Minute):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				err = <-done
			}
			// Whatever happens, nothing of the tour may keep running.
			defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			if err != nil {
				t.Fatalf("the tour failed with CLI %s: %v\n%s", name, err, out.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			found := false
			for _, l := range lines {
				found = found || strings.TrimSpace(l) == "hello"
			}
			if !found {
				t.Fatalf("the tour with CLI %s did not read back hello:\n%s", name, out.String())
			}
			// kill %1 stopped the server: the port is free again.
			deadline := time.Now().Add(10 * time.Second)
			for {
				ln, err := net.Listen("tcp", "127.0.0.1:4566")
				if err == nil {
					ln.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the server the tour started still listens after its kill %%1")
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
