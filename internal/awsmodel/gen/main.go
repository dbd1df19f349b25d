// Command gen writes Rheos's AWS service models, one package per service
// under internal/awsmodel (kinesismodel, firehosemodel, ...), from the
// botocore models of the machine's python3 (see modelgen.Targets for the
// services and the operations kept).
//
//	go run ./internal/awsmodel/gen                 # from the repository
//	go generate ./internal/awsmodel                # the same
//	go run ./internal/awsmodel/gen -botocore DIR   # another botocore copy
//
// It owns nothing but flags and files: conversion and rendering are
// modelgen's. It writes only the generated files.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/rheos/rheos/internal/awsmodel/modelgen"
)

func main() {
	botocore := flag.String("botocore", "", "botocore package directory (the one holding data/); default: python3's")
	out := flag.String("out", "", "internal/awsmodel directory to write into; default: found from the module root")
	flag.Parse()
	if err := run(*botocore, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(botocore, out string) error {
	if botocore == "" {
		dir, err := modelgen.FindBotocore()
		if err != nil {
			return err
		}
		botocore = dir
	}
	if out == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		out = filepath.Join(root, "internal", "awsmodel")
	}
	files, err := modelgen.Generate(botocore)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		dst := filepath.Join(out, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, files[p], 0o644); err != nil {
			return err
		}
		fmt.Printf("gen: wrote %s (%d bytes)\n", dst, len(files[p]))
	}
	return nil
}

// moduleRoot returns the nearest directory at or above the working
// directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}
