package app

import (
	"context"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestReflectionServesComments: the reflection service of a server with
// only registerReflection answers, in v1 and v1alpha, the file declaring
// tierspayant.v1.ClaimService with its source code info, the service's
// comment exactly as written in proto/, and with the files it imports;
// other descriptors (reflection's own) are still served.
func TestReflectionServesComments(t *testing.T) {
	want := leadingComment(t, "../../proto/tierspayant/v1/claims.proto", "service ClaimService {")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	registerReflection(s)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(req *reflectionv1.ServerReflectionRequest) *reflectionv1.ServerReflectionResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if e := resp.GetErrorResponse(); e != nil {
			t.Fatalf("%v: error %d %s", req, e.GetErrorCode(), e.GetErrorMessage())
		}
		return resp
	}

	resp := ask(&reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "tierspayant.v1.ClaimService"}})
	files := decodeFiles(t, resp.GetFileDescriptorResponse().GetFileDescriptorProto())
	claims := files["tierspayant/v1/claims.proto"]
	if claims == nil {
		t.Fatalf("files %v: no tierspayant/v1/claims.proto", keysOf(files))
	}
	if got := serviceComment(claims, "ClaimService"); got != want {
		t.Fatalf("ClaimService's comment served:\n%q\nwant, as in proto/:\n%q", got, want)
	}
	for _, dep := range claims.GetDependency() {
		if files[dep] == nil {
			t.Errorf("the answer lacks %s, which claims.proto imports", dep)
		}
	}
	if common := files["tierspayant/v1/common.proto"]; common == nil || len(common.GetSourceCodeInfo().GetLocation()) == 0 {
		t.Error("tierspayant/v1/common.proto served without its comments")
	}

	// A descriptor the documented files do not hold comes from the global registry.
	resp = ask(&reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "grpc.reflection.v1.ServerReflection"}})
	if len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Fatal("no file for grpc.reflection.v1.ServerReflection")
	}
	resp = ask(&reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{ListServices: "*"}})
	var names []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	if !slices.Contains(names, "grpc.reflection.v1.ServerReflection") || !slices.Contains(names, "grpc.reflection.v1alpha.ServerReflection") {
		t.Errorf("services %v: both reflection versions should be listed", names)
	}

	// grpcurl asks v1alpha first.
	alpha, err := reflectionv1alpha.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := alpha.Send(&reflectionv1alpha.ServerReflectionRequest{
		MessageRequest: &reflectionv1alpha.ServerReflectionRequest_FileByFilename{FileByFilename: "tierspayant/v1/claims.proto"}}); err != nil {
		t.Fatal(err)
	}
	aresp, err := alpha.Recv()
	if err != nil {
		t.Fatal(err)
	}
	files = decodeFiles(t, aresp.GetFileDescriptorResponse().GetFileDescriptorProto())
	if got := serviceComment(files["tierspayant/v1/claims.proto"], "ClaimService"); got != want {
		t.Fatalf("v1alpha: ClaimService's comment %q, want %q", got, want)
	}
}

// leadingComment is the comment right above the line starting with decl, as
// protoc records it: each line's text after "//", newline-terminated.
func leadingComment(t *testing.T, path, decl string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, decl) {
			continue
		}
		var comment []string
		for j := i - 1; j >= 0 && strings.HasPrefix(lines[j], "//"); j-- {
			comment = append([]string{strings.TrimPrefix(lines[j], "//") + "\n"}, comment...)
		}
		if len(comment) == 0 {
			t.Fatalf("%s: no comment above %q", path, decl)
		}
		return strings.Join(comment, "")
	}
	t.Fatalf("%s: no line starting with %q", path, decl)
	return ""
}

func decodeFiles(t *testing.T, raw [][]byte) map[string]*descriptorpb.FileDescriptorProto {
	t.Helper()
	files := map[string]*descriptorpb.FileDescriptorProto{}
	for _, b := range raw {
		f := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(b, f); err != nil {
			t.Fatal(err)
		}
		files[f.GetName()] = f
	}
	return files
}

// serviceComment is the leading comment of the named service of a file.
func serviceComment(f *descriptorpb.FileDescriptorProto, name string) string {
	for i, s := range f.GetService() {
		if s.GetName() != name {
			continue
		}
		for _, loc := range f.GetSourceCodeInfo().GetLocation() {
			if slices.Equal(loc.GetPath(), []int32{6, int32(i)}) { // FileDescriptorProto.service[i]
				return loc.GetLeadingComments()
			}
		}
	}
	return ""
}

func keysOf[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
