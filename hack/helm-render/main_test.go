package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeChart lays out a throwaway chart: files maps a path under the chart
// directory to its content.
func writeChart(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	base := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: demo\nversion: 1.2.3\nappVersion: \"4.5\"\n",
		"values.yaml": "replicas: 2\nbig: 134217728\nnested: {a: 1, b: 2}\nname: web\n",
	}
	for k, v := range files {
		base[k] = v
	}
	for k, v := range base {
		p := filepath.Join(dir, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustRender(t *testing.T, dir string, files, sets []string) string {
	t.Helper()
	out, err := render(dir, "rel", "ns", files, sets, false)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return out
}

func TestHelmSemantics(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"templates/_h.tpl": `{{- define "demo.name" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end -}}`,
		"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "demo.name" . }}
  namespace: {{ .Release.Namespace }}
data:
  replicas: {{ .Values.replicas | quote }}
  big: {{ int64 .Values.big | quote }}
  missing: "{{ .Values.nope }}"
  app: {{ .Chart.AppVersion | quote }}
  nested: |
    {{- toYaml .Values.nested | nindent 4 }}
`,
		"templates/empty.yaml": "{{- if false }}\nkind: Nothing\n{{- end }}\n",
	})
	out := mustRender(t, dir, nil, nil)
	for _, want := range []string{
		"# Source: demo/templates/cm.yaml", "name: demo-rel", "namespace: ns", `replicas: "2"`,
		`big: "134217728"`, `missing: ""`, `app: "4.5"`, "    a: 1\n    b: 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "empty.yaml") {
		t.Errorf("an empty template must not produce a document:\n%s", out)
	}
}

func TestValuesCoalesce(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"templates/cm.yaml": "r: {{ .Values.replicas }}\nn: {{ toJson .Values.nested }}\nname: {{ .Values.name }}\n",
	})
	f := filepath.Join(t.TempDir(), "v.yaml")
	if err := os.WriteFile(f, []byte("nested: {b: 3, a: null}\nname: api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRender(t, dir, []string{f}, []string{"replicas=7", "name=true"})
	for _, want := range []string{"r: 7", `n: {"b":3}`, "name: true"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSchemaRejects(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"templates/cm.yaml":  "r: {{ .Values.replicas }}\n",
		"values.schema.json": `{"type":"object","properties":{"replicas":{"type":"integer","minimum":1}}}`,
	})
	_, err := render(dir, "rel", "ns", nil, []string{"replicas=0"}, false)
	if err == nil || !strings.Contains(err.Error(), "replicas: Must be greater than or equal to 1") {
		t.Fatalf("want a schema error naming replicas, got %v", err)
	}
}

func TestErrorsNameTheTemplate(t *testing.T) {
	cases := map[string]string{
		"required":     `x: {{ required "set .Values.host" .Values.host }}`,
		"bad yaml":     "a: [unclosed\n",
		"no env":       `x: {{ env "HOME" }}`,
		"include loop": `{{ define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}`,
	}
	wants := map[string]string{
		"required": "set .Values.host", "bad yaml": "demo/templates/t.yaml (document 1): YAML parse error",
		"no env": `function "env" not defined`, "include loop": "nesting deeper than 1000",
	}
	for name, tpl := range cases {
		dir := writeChart(t, map[string]string{"templates/t.yaml": tpl})
		_, err := render(dir, "rel", "ns", nil, nil, false)
		if err == nil || !strings.Contains(err.Error(), wants[name]) {
			t.Errorf("%s: want error containing %q, got %v", name, wants[name], err)
		}
	}
}

func TestNotesOnly(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"templates/cm.yaml":   "kind: ConfigMap\n",
		"templates/NOTES.txt": "release {{ .Release.Name }} in {{ .Release.Namespace }}\n",
	})
	out, err := render(dir, "rel", "ns", nil, nil, true)
	if err != nil || out != "release rel in ns\n" {
		t.Fatalf("notes: %q, %v", out, err)
	}
	if manifests := mustRender(t, dir, nil, nil); strings.Contains(manifests, "release rel") {
		t.Errorf("NOTES.txt rendered among the manifests:\n%s", manifests)
	}
}
