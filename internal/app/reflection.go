package app

import (
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
	v1reflectiongrpc "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphareflectiongrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/tierspayant/tierspayant/gen/tierspayant/v1/tierspayantv1docs"
)

// registerReflection registers gRPC server reflection, v1 and v1alpha (which
// grpcurl and older clients still ask first), serving the descriptors of
// proto/ WITH their comments, so that `grpcurl describe` shows the API's
// documentation to integrators who only have the server. Descriptors that
// are not ours (health, reflection itself) come from protoregistry.GlobalFiles.
func registerReflection(s *grpc.Server) {
	opts := reflection.ServerOptions{
		Services:           s,
		DescriptorResolver: reflectionResolver(),
		ExtensionResolver:  protoregistry.GlobalTypes,
	}
	v1reflectiongrpc.RegisterServerReflectionServer(s, reflection.NewServerV1(opts))
	v1alphareflectiongrpc.RegisterServerReflectionServer(s, reflection.NewServer(opts))
}

// reflectionResolver looks descriptors up in the documented files first,
// then in protoregistry.GlobalFiles. Should the embedded files not load
// (generated code out of step, which make generate-check refuses),
// reflection still works, without the comments.
func reflectionResolver() protodesc.Resolver {
	docs, err := tierspayantv1docs.Files()
	if err != nil {
		slog.Warn("server reflection serves the API without its comments", "error", err.Error())
		return protoregistry.GlobalFiles
	}
	return layeredResolver{docs, protoregistry.GlobalFiles}
}

// layeredResolver answers from the first resolver that knows the name.
type layeredResolver []protodesc.Resolver

func (l layeredResolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	for _, r := range l {
		if fd, err := r.FindFileByPath(path); err == nil {
			return fd, nil
		}
	}
	return nil, protoregistry.NotFound
}

func (l layeredResolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	for _, r := range l {
		if d, err := r.FindDescriptorByName(name); err == nil {
			return d, nil
		}
	}
	return nil, protoregistry.NotFound
}
