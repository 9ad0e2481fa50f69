// helm-render renders a Helm chart the way `helm template` does, for the
// deploy tests on machines without helm (helm is not packaged for Debian).
//
// It uses the same engine as helm: Go's text/template with sprig's function
// map, helm's own functions (include, tpl, required, toYaml, fromYaml, toJson,
// fromJson, lookup), values.yaml coalesced with -f files and --set pairs, and
// the values checked against values.schema.json with xeipuuv/gojsonschema, the
// validator helm 3 uses. Output is helm's: one "# Source:" document per
// non-empty template, _*.tpl files define only. Every rendered document must
// parse as YAML, or rendering fails naming the template.
//
// Build offline against Debian's Go packages:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-render ./hack/helm-render
//
// Usage:
//
//	helm-render [--release NAME] [--namespace NS] [-f values.yaml]... [--set a.b=v]... [--notes] CHART
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/xeipuuv/gojsonschema"
	"sigs.k8s.io/yaml"
)

// chartMeta is the part of Chart.yaml templates see as .Chart (helm exposes
// the Go field names: .Chart.Name, .Chart.AppVersion, ...).
type chartMeta struct {
	APIVersion  string `json:"apiVersion"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
	Description string `json:"description"`
	Type        string `json:"type"`
	KubeVersion string `json:"kubeVersion"`
}

type apiVersions []string

// Has mirrors helm's .Capabilities.APIVersions.Has.
func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type kubeVersion struct{ Version, Major, Minor, GitVersion string }

// String lets {{ .Capabilities.KubeVersion }} print like helm's.
func (k kubeVersion) String() string { return k.Version }

type capabilities struct {
	KubeVersion kubeVersion
	APIVersions apiVersions
}

type release struct {
	Name, Namespace, Service string
	IsInstall, IsUpgrade     bool
	Revision                 int
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var valueFiles, sets multiFlag
	rel := flag.String("release", "skydns", "release name")
	ns := flag.String("namespace", "default", "release namespace")
	notes := flag.Bool("notes", false, "print the rendered NOTES.txt instead of the manifests")
	flag.Var(&valueFiles, "f", "values file (repeatable, later wins)")
	flag.Var(&sets, "set", "a.b.c=value (repeatable, after -f files)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: helm-render [--release NAME] [--namespace NS] [-f values.yaml]... [--set a.b=v]... [--notes] CHART_DIR")
		os.Exit(2)
	}
	out, err := render(flag.Arg(0), *rel, *ns, valueFiles, sets, *notes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

func render(dir, rel, ns string, valueFiles, sets []string, notes bool) (string, error) {
	meta, err := loadChart(dir)
	if err != nil {
		return "", err
	}
	vals, err := loadValues(dir, valueFiles, sets)
	if err != nil {
		return "", err
	}
	if err := checkSchema(dir, meta.Name, vals); err != nil {
		return "", err
	}
	files, err := loadTemplates(dir, meta.Name)
	if err != nil {
		return "", err
	}
	top := map[string]interface{}{
		"Values":  vals,
		"Chart":   meta,
		"Release": release{Name: rel, Namespace: ns, Service: "Helm", IsInstall: true, Revision: 1},
		"Capabilities": capabilities{
			KubeVersion: kubeVersion{Version: "v1.30.0", Major: "1", Minor: "30", GitVersion: "v1.30.0"},
			APIVersions: apiVersions{"v1", "apps/v1", "policy/v1", "rbac.authorization.k8s.io/v1",
				"discovery.k8s.io/v1", "monitoring.coreos.com/v1"},
		},
		"Files": map[string]interface{}{},
	}
	return execute(meta.Name, files, top, notes)
}

func loadChart(dir string) (*chartMeta, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	var m chartMeta
	// Not strict: Chart.yaml may carry keys templates never see (keywords, maintainers).
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %v", err)
	}
	if m.Name == "" || m.Version == "" || m.APIVersion != "v2" {
		return nil, errors.New("Chart.yaml: apiVersion v2, name and version are required")
	}
	return &m, nil
}

// loadValues coalesces values.yaml, the -f files and the --set pairs the way
// helm does: maps merge key by key, anything else replaces, null deletes.
func loadValues(dir string, files, sets []string) (map[string]interface{}, error) {
	vals, err := readYAMLMap(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		over, err := readYAMLMap(f)
		if err != nil {
			return nil, err
		}
		merge(vals, over)
	}
	for _, s := range sets {
		over, err := parseSet(s)
		if err != nil {
			return nil, err
		}
		merge(vals, over)
	}
	return vals, nil
}

func readYAMLMap(p string) (map[string]interface{}, error) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	return m, nil
}

func merge(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			merge(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// parseSet handles helm's common --set form a.b.c=value, with the value typed
// as helm types it (int64, bool, null, otherwise string). Lists and escapes
// are not supported: use a values file.
func parseSet(s string) (map[string]interface{}, error) {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return nil, fmt.Errorf("--set %q: want key=value", s)
	}
	keys := strings.Split(s[:eq], ".")
	raw := s[eq+1:]
	var v interface{} = raw
	switch {
	case raw == "true" || raw == "false":
		v = raw == "true"
	case raw == "null":
		v = nil
	default:
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil && (raw == "0" || raw[0] != '0') {
			v = n
		}
	}
	root := map[string]interface{}{}
	cur := root
	for i, k := range keys {
		if k == "" {
			return nil, fmt.Errorf("--set %q: empty key", s)
		}
		if i == len(keys)-1 {
			cur[k] = v
			break
		}
		next := map[string]interface{}{}
		cur[k] = next
		cur = next
	}
	return root, nil
}

func checkSchema(dir, chart string, vals map[string]interface{}) error {
	raw, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(raw), gojsonschema.NewGoLoader(vals))
	if err != nil {
		return fmt.Errorf("values.schema.json: %v", err)
	}
	if res.Valid() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n", chart)
	for _, e := range res.Errors() {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	return errors.New(strings.TrimRight(b.String(), "\n"))
}

type tmplFile struct{ name, text string }

func loadTemplates(dir, chart string) ([]tmplFile, error) {
	tdir := filepath.Join(dir, "templates")
	ents, err := os.ReadDir(tdir)
	if err != nil {
		return nil, err
	}
	var out []tmplFile
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(tdir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, tmplFile{path.Join(chart, "templates", e.Name()), string(raw)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func execute(chart string, files []tmplFile, top map[string]interface{}, notes bool) (string, error) {
	t := template.New("gotpl").Option("missingkey=zero")
	t.Funcs(funcMap(t))
	for _, f := range files {
		if _, err := t.New(f.name).Parse(f.text); err != nil {
			return "", err
		}
	}
	var out strings.Builder
	for _, f := range files {
		base := path.Base(f.name)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != notes {
			continue
		}
		scope := map[string]interface{}{}
		for k, v := range top {
			scope[k] = v
		}
		scope["Template"] = map[string]interface{}{"Name": f.name, "BasePath": path.Join(chart, "templates")}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, f.name, scope); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if notes {
			out.WriteString(text)
			continue
		}
		if err := emitDocs(&out, f.name, text); err != nil {
			return "", err
		}
	}
	return out.String(), nil
}

// emitDocs writes each non-empty YAML document of one template under a
// "# Source:" header, after checking it parses, as helm does before install.
func emitDocs(out *strings.Builder, name, text string) error {
	for i, doc := range splitDocs(text) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var obj map[string]interface{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return fmt.Errorf("%s (document %d): YAML parse error: %v", name, i+1, err)
		}
		fmt.Fprintf(out, "---\n# Source: %s\n%s\n", name, strings.Trim(doc, "\n"))
	}
	return nil
}

func splitDocs(text string) []string {
	var docs []string
	var cur []string
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimRight(line, " \t") == "---" {
			docs = append(docs, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return append(docs, strings.Join(cur, "\n"))
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
