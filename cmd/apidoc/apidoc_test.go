package main

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// shopSet is a small FileDescriptorSet as buf builds it: acme/v1/shop.proto
// with comments, and the well-known file it imports marked as an import by
// buf's image extension.
func shopSet(t *testing.T) *descriptorpb.FileDescriptorSet {
	t.Helper()
	line := int32(0)
	var locs []*descriptorpb.SourceCodeInfo_Location
	loc := func(leading, trailing string, detached []string, path ...int32) {
		line += 3
		l := &descriptorpb.SourceCodeInfo_Location{Path: path, Span: []int32{line, 0, 10}, LeadingDetachedComments: detached}
		if leading != "" {
			l.LeadingComments = proto.String(leading)
		}
		if trailing != "" {
			l.TrailingComments = proto.String(trailing)
		}
		locs = append(locs, l)
	}
	loc("", "", nil, 12)
	loc(" Package acme.v1 sells things.\n", "", nil, 2)
	loc(" Shop sells things.\n\n Second paragraph.\n", "", []string{" Conventions: prices are strings.\n"}, 6, 0)
	loc(" Buy buys <things> | stuff. Then more.\n", "", nil, 6, 0, 2, 0)
	loc(" BuyRequest asks for things.\n", "", nil, 4, 0)
	loc(" The item's\n name.\n", " Trailing note.\n", nil, 4, 0, 2, 0)
	loc(" Lines of the order.\n", "", nil, 4, 0, 2, 1)
	loc(" A line.\n", "", nil, 4, 0, 3, 0)
	loc(" Quantity.\n", "", nil, 4, 0, 3, 0, 2, 0)
	loc(" Old; use lines.\n", "", nil, 4, 0, 2, 6)
	loc(" Colour of the wrapping.\n", "", nil, 5, 0)
	loc(" Not set.\n", "", nil, 5, 0, 2, 0)
	loc(" Red `a<b`.\n", "", nil, 5, 0, 2, 1)

	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	i32 := descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum()
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	rep := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	shop := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("acme/v1/shop.proto"),
		Package:    proto.String("acme.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/timestamp.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Shop"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String("Buy"), InputType: proto.String(".acme.v1.BuyRequest"),
				OutputType: proto.String(".acme.v1.BuyRequest.Line"), ServerStreaming: proto.Bool(true),
			}},
		}},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("BuyRequest"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("item"), Number: proto.Int32(1), Label: opt, Type: str, JsonName: proto.String("item")},
				{Name: proto.String("lines"), Number: proto.Int32(2), Label: rep, Type: msg, TypeName: proto.String(".acme.v1.BuyRequest.Line"), JsonName: proto.String("lines")},
				{Name: proto.String("counts"), Number: proto.Int32(3), Label: rep, Type: msg, TypeName: proto.String(".acme.v1.BuyRequest.CountsEntry"), JsonName: proto.String("counts")},
				{Name: proto.String("n"), Number: proto.Int32(4), Label: opt, Type: i32, JsonName: proto.String("n"), OneofIndex: proto.Int32(1), Proto3Optional: proto.Bool(true)},
				{Name: proto.String("card"), Number: proto.Int32(5), Label: opt, Type: str, JsonName: proto.String("card"), OneofIndex: proto.Int32(0)},
				{Name: proto.String("at"), Number: proto.Int32(6), Label: opt, Type: msg, TypeName: proto.String(".google.protobuf.Timestamp"), JsonName: proto.String("at")},
				{Name: proto.String("old"), Number: proto.Int32(7), Label: opt, Type: str, JsonName: proto.String("old"), Options: &descriptorpb.FieldOptions{Deprecated: proto.Bool(true)}},
				{Name: proto.String("color"), Number: proto.Int32(8), Label: opt, Type: descriptorpb.FieldDescriptorProto_TYPE_ENUM.Enum(), TypeName: proto.String(".acme.v1.Color"), JsonName: proto.String("color")},
			},
			NestedType: []*descriptorpb.DescriptorProto{
				{Name: proto.String("Line"), Field: []*descriptorpb.FieldDescriptorProto{
					{Name: proto.String("quantity"), Number: proto.Int32(1), Label: opt, Type: i32, JsonName: proto.String("quantity")},
				}},
				{Name: proto.String("CountsEntry"), Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)}, Field: []*descriptorpb.FieldDescriptorProto{
					{Name: proto.String("key"), Number: proto.Int32(1), Label: opt, Type: str, JsonName: proto.String("key")},
					{Name: proto.String("value"), Number: proto.Int32(2), Label: opt, Type: i32, JsonName: proto.String("value")},
				}},
			},
			OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("pay")}, {Name: proto.String("_n")}},
		}},
		EnumType: []*descriptorpb.EnumDescriptorProto{{
			Name: proto.String("Color"),
			Value: []*descriptorpb.EnumValueDescriptorProto{
				{Name: proto.String("COLOR_UNSPECIFIED"), Number: proto.Int32(0)},
				{Name: proto.String("COLOR_RED"), Number: proto.Int32(1)},
			},
		}},
		SourceCodeInfo: &descriptorpb.SourceCodeInfo{Location: locs},
	}
	ts := protodesc.ToFileDescriptorProto(timestamppb.File_google_protobuf_timestamp_proto)
	ts.ProtoReflect().SetUnknown(bufExtension(true))
	shop.ProtoReflect().SetUnknown(bufExtension(false))
	return &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{ts, shop}}
}

// bufExtension is buf's ImageFileExtension{is_import} as unknown fields of
// an ImageFile.
func bufExtension(isImport bool) []byte {
	var ext []byte
	ext = protowire.AppendTag(ext, bufIsImportField, protowire.VarintType)
	ext = protowire.AppendVarint(ext, protowire.EncodeBool(isImport))
	b := protowire.AppendTag(nil, bufExtensionField, protowire.BytesType)
	return protowire.AppendBytes(b, ext)
}

func loadShop(t *testing.T, vendored ...string) *image {
	t.Helper()
	data, err := proto.Marshal(shopSet(t))
	if err != nil {
		t.Fatal(err)
	}
	img, err := loadImage(data, vendored...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestMarkdown(t *testing.T) {
	img := loadShop(t) // no vendored prefix: the import is known from buf's extension
	md, err := renderMarkdown(img, "Acme API")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(md)
	for _, want := range []string{
		"# Acme API\n",
		"- [acme/v1/shop.proto](#file-acme-v1-shop-proto)\n  - service [Shop](#acme.v1.Shop)\n  - message [BuyRequest](#acme.v1.BuyRequest)\n  - message [BuyRequest.Line](#acme.v1.BuyRequest.Line)\n  - enum [Color](#acme.v1.Color)\n",
		"Package acme.v1 sells things.\n\nConventions: prices are strings.\n\n",
		"<a id=\"acme.v1.Shop\"></a>\n\n### service Shop\n\nShop sells things.\n\nSecond paragraph.\n\n",
		"| [Buy](#acme.v1.Shop.Buy) | [BuyRequest](#acme.v1.BuyRequest) | stream of [BuyRequest.Line](#acme.v1.BuyRequest.Line) | Buy buys &lt;things> \\| stuff. |\n",
		"<a id=\"acme.v1.Shop.Buy\"></a>\n\n#### Shop.Buy\n\n`acme.v1.Shop/Buy`: request [BuyRequest](#acme.v1.BuyRequest), response stream of [BuyRequest.Line](#acme.v1.BuyRequest.Line).\n\nBuy buys &lt;things> | stuff. Then more.\n\n",
		"| `item` | 1 | `string` |  | The item's name.<br><br>Trailing note. |\n",
		"| `lines` | 2 | [BuyRequest.Line](#acme.v1.BuyRequest.Line) | repeated | Lines of the order. |\n",
		"| `counts` | 3 | map&lt;`string`, `int32`&gt; |  |  |\n",
		"| `n` | 4 | `int32` | optional |  |\n",
		"| `card` | 5 | `string` | oneof `pay` |  |\n",
		"| `at` | 6 | `google.protobuf.Timestamp` |  |  |\n",
		"| `old` | 7 | `string` |  | **Deprecated.** Old; use lines. |\n",
		"| `color` | 8 | [Color](#acme.v1.Color) |  |  |\n",
		"### message BuyRequest.Line\n\nA line.\n\n| Field | Number | Type | Label | Description |\n| --- | --- | --- | --- | --- |\n| `quantity` | 1 | `int32` |  | Quantity. |\n",
		"| `COLOR_UNSPECIFIED` | 0 | Not set. |\n| `COLOR_RED` | 1 | Red `a<b`. |\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("missing:\n%s\n--- in:\n%s", want, doc)
		}
	}
	for _, unwanted := range []string{"CountsEntry", "google/protobuf/timestamp.proto", "\n\n\n"} {
		if strings.Contains(doc, unwanted) {
			t.Errorf("the document shows %q", unwanted)
		}
	}
	checkLinks(t, doc)
	again, _ := renderMarkdown(loadShop(t), "Acme API")
	if !bytes.Equal(md, again) {
		t.Error("two renderings of the same image differ")
	}
}

// checkLinks fails on a link to an anchor the document does not define.
func checkLinks(t *testing.T, doc string) {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`<a id="([^"]+)"></a>`).FindAllStringSubmatch(doc, -1) {
		if ids[m[1]] {
			t.Errorf("anchor %q defined twice", m[1])
		}
		ids[m[1]] = true
	}
	links := regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(doc, -1)
	if len(links) == 0 {
		t.Error("no cross-link")
	}
	for _, m := range links {
		if !ids[m[1]] {
			t.Errorf("link to #%s, which no anchor defines", m[1])
		}
	}
}

func TestVendoredPrefix(t *testing.T) {
	set := shopSet(t)
	for _, f := range set.File {
		f.ProtoReflect().SetUnknown(nil) // as protoc writes it: no buf extension
	}
	data, _ := proto.Marshal(set)
	img, err := loadImage(data, "google/")
	if err != nil {
		t.Fatal(err)
	}
	if len(img.local) != 1 || img.local[0].Path() != "acme/v1/shop.proto" {
		t.Fatalf("local files %v, want only acme/v1/shop.proto", img.local)
	}
	if len(img.deps) != 1 || img.deps[0].Path() != "google/protobuf/timestamp.proto" {
		t.Fatalf("dependencies %v, want google/protobuf/timestamp.proto", img.deps)
	}
	// Without the prefix nor buf's extension the well-known file counts as
	// the module's own, and it has no comments to document.
	if _, err := loadImage(data); err == nil || !strings.Contains(err.Error(), "google/protobuf/timestamp.proto has no source code info") {
		t.Fatalf("a protoc set without vendored prefix: %v, want the well-known file refused", err)
	}
	set.File[1].SourceCodeInfo = nil
	data, _ = proto.Marshal(set)
	if _, err := loadImage(data, "google/"); err == nil || !strings.Contains(err.Error(), "no source code info") {
		t.Fatalf("an image without source info: %v, want an error saying so", err)
	}
	if _, err := loadImage([]byte("not a descriptor set")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestGoPackage(t *testing.T) {
	img := loadShop(t)
	src, bin, err := renderGoPackage(img, "acmedocs")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), goFileName, src, parser.ParseComments)
	if err != nil {
		t.Fatalf("generated source does not parse: %v\n%s", err, src)
	}
	if f.Name.Name != "acmedocs" {
		t.Errorf("package %s, want acmedocs", f.Name.Name)
	}
	var imports []string
	for _, imp := range f.Imports {
		imports = append(imports, imp.Path.Value)
	}
	if !strings.Contains(strings.Join(imports, " "), `"google.golang.org/protobuf/types/known/timestamppb"`) {
		t.Errorf("imports %v: the imported file's Go package must be linked in", imports)
	}
	if !regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`).Match(src) || !bytes.Contains(src, []byte("//go:embed "+binFileName)) {
		t.Errorf("generated source lacks its header or its embed:\n%s", src)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(bin, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.File) != 1 || set.File[0].GetName() != "acme/v1/shop.proto" {
		t.Fatalf("embedded %d files, want acme/v1/shop.proto only", len(set.File))
	}
	got := set.File[0]
	if len(got.ProtoReflect().GetUnknown()) != 0 {
		t.Error("buf's image extension is embedded")
	}
	if !proto.Equal(got.GetSourceCodeInfo(), shopSet(t).File[1].GetSourceCodeInfo()) {
		t.Error("source code info not embedded as built")
	}
	src2, bin2, _ := renderGoPackage(loadShop(t), "acmedocs")
	if !bytes.Equal(src, src2) || !bytes.Equal(bin, bin2) {
		t.Error("two generations differ")
	}
	if _, _, err := renderGoPackage(img, "Not-a-package"); err == nil {
		t.Error("an invalid package name was accepted")
	}
}

// TestRealImage renders the image of proto/ when buf is installed (make
// tools): every service of the proto files documented, no dangling link.
func TestRealImage(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	buf := filepath.Join(root, ".tmp", "bin", "buf")
	if _, err := os.Stat(buf); err != nil {
		t.Skip("no .tmp/bin/buf (make tools)")
	}
	image := filepath.Join(t.TempDir(), "image.binpb")
	cmd := exec.Command(buf, "build", "-o", image)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buf build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	img, err := loadImage(data, "google/")
	if err != nil {
		t.Fatal(err)
	}
	md, err := renderMarkdown(img, "tierspayant API reference")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(md)
	checkLinks(t, doc)
	protos, _ := filepath.Glob(filepath.Join(root, "proto", "tierspayant", "*", "*.proto"))
	if len(protos) == 0 {
		t.Fatal("no proto file found")
	}
	services := 0
	for _, p := range protos {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^service (\w+) \{`).FindAllSubmatch(b, -1) {
			services++
			if !strings.Contains(doc, "### service "+string(m[1])+"\n") {
				t.Errorf("service %s of %s not documented", m[1], filepath.Base(p))
			}
		}
	}
	if services == 0 {
		t.Error("no service found in proto/")
	}
	if strings.Contains(doc, "google/rpc") || strings.Contains(doc, "google/protobuf") {
		t.Error("imported or vendored files are documented")
	}
	if _, _, err := renderGoPackage(img, "tierspayantv1docs"); err != nil {
		t.Fatal(err)
	}
}
