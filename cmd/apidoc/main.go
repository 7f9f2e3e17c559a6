// Command apidoc turns a buf image of proto/ (a FileDescriptorSet with source
// code info, from `buf build -o image.binpb`) into two outputs of `make
// generate`:
//
//   - -out: docs/API.md, the API reference written from the proto comments:
//     each service with its methods, each message with a table of its fields,
//     each enum with its values, cross-linked by anchors named after the full
//     proto names ("#tierspayant.v1.Claim").
//   - -go-out: a Go package embedding the same files WITH their source code
//     info (the code in gen/ carries none), whose Files function returns a
//     registry for server reflection, so that `grpcurl describe` shows the
//     comments.
//
// The output depends only on the image: files in path order, declarations in
// source order.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	imagePath := flag.String("image", "", "buf image or FileDescriptorSet with source code info (required)")
	out := flag.String("out", "", "Markdown file to write (docs/API.md)")
	goOut := flag.String("go-out", "", "folder of the Go package embedding the descriptors with their comments; the package is named after the folder")
	title := flag.String("title", "tierspayant API reference", "title of the Markdown document")
	vendored := flag.String("vendored", "google/", "comma-separated path prefixes of files that are copies of definitions linked in from their own Go package: neither documented nor embedded, like imports")
	flag.Parse()
	if *imagePath == "" || flag.NArg() > 0 || (*out == "" && *goOut == "") {
		fmt.Fprintln(os.Stderr, "usage: apidoc -image image.binpb [-out docs/API.md] [-go-out gen/…/pkg]")
		os.Exit(2)
	}
	if err := run(*imagePath, *out, *goOut, *title, strings.Split(*vendored, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "apidoc:", err)
		os.Exit(1)
	}
}

func run(imagePath, out, goOut, title string, vendored []string) error {
	data, err := os.ReadFile(imagePath)
	if err != nil {
		return err
	}
	img, err := loadImage(data, vendored...)
	if err != nil {
		return fmt.Errorf("%s: %w", imagePath, err)
	}
	if out != "" {
		md, err := renderMarkdown(img, title)
		if err != nil {
			return err
		}
		if err := writeFile(out, md); err != nil {
			return err
		}
	}
	if goOut != "" {
		pkg := filepath.Base(filepath.Clean(goOut))
		src, bin, err := renderGoPackage(img, pkg)
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(goOut, goFileName), src); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(goOut, binFileName), bin); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes through a temporary file and a rename, so that an
// interrupted run never leaves a half-written output.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
