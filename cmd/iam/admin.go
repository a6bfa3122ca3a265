package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

const adminUsage = `usage: iam admin [--core URL] <resource> <verb> [flags]

  tenants list
  edges list                     each edge's cursor, lag and last contact
  keys list   --tenant SLUG
  keys rotate --tenant SLUG [--force]
  ca show     --tenant SLUG       every CA generation: subjects, serials, validity
  ca rotate   --tenant SLUG [--root]

The bootstrap token comes from IAM_BOOTSTRAP_TOKEN or --token-file
(default .iam-dev/bootstrap-token, the one iam dev writes).
`

// adminClient calls core's admin API with the bootstrap token.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

func runAdmin(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("iam admin", flag.ContinueOnError)
	base := fs.String("core", envOr("IAM_CORE_URL", "http://127.0.0.1:8080"), "core base URL (env IAM_CORE_URL)")
	tokenFile := fs.String("token-file", ".iam-dev/bootstrap-token", "file holding the bootstrap token when IAM_BOOTSTRAP_TOKEN is unset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token, err := bootstrapToken(*tokenFile)
	if err != nil {
		return err
	}
	c := &adminClient{base: strings.TrimRight(*base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
	rest := fs.Args()
	if len(rest) < 2 {
		fmt.Fprint(os.Stderr, adminUsage)
		return flag.ErrHelp
	}
	switch rest[0] + " " + rest[1] {
	case "tenants list":
		return c.call(ctx, stdout, http.MethodGet, "/api/v1/tenants?limit=1000", nil)
	case "edges list":
		return c.call(ctx, stdout, http.MethodGet, "/api/v1/edges", nil)
	case "keys list", "keys rotate":
		return c.keys(ctx, stdout, rest[1], rest[2:])
	case "ca show", "ca rotate":
		return c.ca(ctx, stdout, rest[1], rest[2:])
	}
	fmt.Fprint(os.Stderr, adminUsage)
	return fmt.Errorf("admin: unknown command %q", strings.Join(rest[:2], " "))
}

func (c *adminClient) keys(ctx context.Context, stdout io.Writer, verb string, args []string) error {
	fs := flag.NewFlagSet("iam admin keys", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "tenant slug (required)")
	force := fs.Bool("force", false, "publish a next key now even if the schedule would wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" {
		return errors.New("admin: --tenant is required")
	}
	path := "/api/v1/tenants/" + *tenant + "/keys"
	if verb == "list" {
		return c.call(ctx, stdout, http.MethodGet, path, nil)
	}
	return c.call(ctx, stdout, http.MethodPost, path+"/rotate", map[string]bool{"force": *force})
}

// ca shows or rotates a tenant's device CA: rotate makes a new issuing
// certificate, with --root a new root too; older generations stay trusted
// until they expire.
func (c *adminClient) ca(ctx context.Context, stdout io.Writer, verb string, args []string) error {
	fs := flag.NewFlagSet("iam admin ca", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "tenant slug (required)")
	root := fs.Bool("root", false, "rotate the root as well (rotate only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" {
		return errors.New("admin: --tenant is required")
	}
	path := "/api/v1/tenants/" + *tenant + "/ca"
	if verb == "show" {
		return c.call(ctx, stdout, http.MethodGet, path, nil)
	}
	return c.call(ctx, stdout, http.MethodPost, path+"/rotate", map[string]bool{"root": *root})
}

func bootstrapToken(file string) (string, error) {
	if t := os.Getenv("IAM_BOOTSTRAP_TOKEN"); t != "" {
		return t, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("admin: set IAM_BOOTSTRAP_TOKEN or --token-file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// call performs one request and prints the JSON answer; a problem answer
// becomes the error.
func (c *adminClient) call(ctx context.Context, stdout io.Writer, method, path string, body any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin: read answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("admin: %s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(out))
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = append(pretty.Bytes(), '\n')
	}
	_, err = stdout.Write(out)
	return err
}
