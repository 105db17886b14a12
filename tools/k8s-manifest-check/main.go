// Command k8s-manifest-check decodes rendered Kubernetes manifests strictly into the API types of
// k8s.io/api and of the prometheus-operator (ServiceMonitor, PrometheusRule), the way an API
// server with strict field validation reads them: an unknown or misspelt field (wrong case
// included), a duplicate field, a value of the wrong type or an unknown kind is an error.
//
//	helm template … | k8s-manifest-check [-]          reads standard input
//	k8s-manifest-check a.yaml b.yaml                 reads files
//
// It prints one line per object ("ok apps/v1 Deployment h41-vdxp-connector") and one per problem
// ("FAIL <source> document <n> apps/v1 Deployment h41-vdxp-connector: …"), and exits 1 if any
// object failed, 2 if it could not read its input.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, batchv1.AddToScheme,
		networkingv1.AddToScheme, policyv1.AddToScheme, rbacv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// checkDocument decodes one YAML document; it returns "" for an empty document.
func checkDocument(s *runtime.Scheme, doc []byte) (string, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return "", nil
	}
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return "", fmt.Errorf("not valid YAML: %w", err)
	}
	if string(j) == "null" {
		return "", nil
	}
	var h header
	if err := kjson.UnmarshalCaseSensitivePreserveInts(j, &h); err != nil {
		return "", fmt.Errorf("not an object with apiVersion and kind: %w", err)
	}
	what := strings.TrimSpace(fmt.Sprintf("%s %s %s", h.APIVersion, h.Kind, h.Metadata.Name))
	// A key given twice: YAML parsers keep one of the two silently, an API server refuses it.
	if _, err := yaml.YAMLToJSONStrict(doc); err != nil {
		return what, err
	}
	if h.APIVersion == "" || h.Kind == "" {
		return what, errors.New("apiVersion and kind are required")
	}
	gv, err := schema.ParseGroupVersion(h.APIVersion)
	if err != nil {
		return what, err
	}
	obj, err := s.New(gv.WithKind(h.Kind))
	if err != nil {
		return what, fmt.Errorf("no API type for apiVersion %q kind %q", h.APIVersion, h.Kind)
	}
	strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowUnknownFields)
	if err != nil {
		return what, err
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return what, errors.New(strings.Join(msgs, "; "))
	}
	return what, nil
}

func checkStream(s *runtime.Scheme, name string, r io.Reader, out io.Writer) (ok, failed int, err error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for n := 1; ; n++ {
		doc, readErr := reader.Read()
		if readErr == io.EOF {
			return ok, failed, nil
		}
		if readErr != nil {
			return ok, failed, fmt.Errorf("%s: %w", name, readErr)
		}
		what, checkErr := checkDocument(s, doc)
		switch {
		case checkErr != nil:
			failed++
			// One line per problem: YAML errors come with line breaks of their own.
			fmt.Fprintf(out, "FAIL %s document %d %s: %s\n", name, n, what, strings.Join(strings.Fields(checkErr.Error()), " "))
		case what != "":
			ok++
			fmt.Fprintf(out, "ok %s\n", what)
		}
	}
}

func main() {
	s, err := newScheme()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	inputs := os.Args[1:]
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	totalOK, totalFailed := 0, 0
	for _, in := range inputs {
		var r io.Reader = os.Stdin
		name := "(stdin)"
		if in != "-" {
			f, err := os.Open(in)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			defer f.Close()
			r, name = f, in
		}
		ok, failed, err := checkStream(s, name, r, os.Stdout)
		totalOK += ok
		totalFailed += failed
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	fmt.Printf("%d objects ok, %d failed\n", totalOK, totalFailed)
	if totalFailed > 0 || totalOK == 0 {
		os.Exit(1)
	}
}
