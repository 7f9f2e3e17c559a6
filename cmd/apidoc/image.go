package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// bufExtensionField is the field of buf's ImageFile (a FileDescriptorProto
// with one more field) that holds its ImageFileExtension, whose field 1 is
// is_import: the file is only there because a module file imports it.
const (
	bufExtensionField = 8042
	bufIsImportField  = 1
)

// image is a loaded descriptor set.
type image struct {
	// local are the files to document and embed, in path order: the
	// module's own files, not the imports that came along.
	local []protoreflect.FileDescriptor
	// protos are the local files as descriptor protos (source code info
	// kept, buf's extension removed), in path order.
	protos []*descriptorpb.FileDescriptorProto
	// deps are the files that local files import and that are not local
	// themselves, in path order.
	deps []protoreflect.FileDescriptor
	// isLocal is keyed by file path.
	isLocal map[string]bool
}

// loadImage reads a buf image or a FileDescriptorSet holding every file its
// files import (buf build's default; protoc's --include_imports). Files
// whose path starts with one of the vendored prefixes are treated as
// imports even when the module holds them: they are copies of definitions
// whose Go package registers them (google/rpc/status.proto is
// google.golang.org/genproto/googleapis/rpc/status).
func loadImage(data []byte, vendored ...string) (*image, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a FileDescriptorSet: %w", err)
	}
	if len(set.GetFile()) == 0 {
		return nil, errors.New("no file in the descriptor set")
	}
	img := &image{isLocal: map[string]bool{}}
	var protos []*descriptorpb.FileDescriptorProto
	for _, f := range set.GetFile() {
		imported := bufIsImport(f)
		for _, prefix := range vendored {
			if prefix != "" && strings.HasPrefix(f.GetName(), prefix) {
				imported = true
			}
		}
		f = proto.Clone(f).(*descriptorpb.FileDescriptorProto)
		stripUnknown(f.ProtoReflect())
		protos = append(protos, f)
		if !imported {
			img.isLocal[f.GetName()] = true
		}
	}
	if len(img.isLocal) == 0 {
		return nil, errors.New("every file of the descriptor set is an import: nothing to document")
	}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: protos})
	if err != nil {
		return nil, fmt.Errorf("descriptor set (it must hold every imported file): %w", err)
	}
	for _, f := range protos {
		if img.isLocal[f.GetName()] {
			if f.GetSourceCodeInfo() == nil {
				return nil, fmt.Errorf("%s has no source code info: build the image without --exclude-source-info", f.GetName())
			}
			img.protos = append(img.protos, f)
		}
	}
	sort.Slice(img.protos, func(i, j int) bool { return img.protos[i].GetName() < img.protos[j].GetName() })
	deps := map[string]protoreflect.FileDescriptor{}
	for _, f := range img.protos {
		fd, err := files.FindFileByPath(f.GetName())
		if err != nil {
			return nil, err
		}
		img.local = append(img.local, fd)
		imps := fd.Imports()
		for i := 0; i < imps.Len(); i++ {
			if dep := imps.Get(i).FileDescriptor; !img.isLocal[dep.Path()] {
				deps[dep.Path()] = dep
			}
		}
	}
	for _, path := range sortedKeys(deps) {
		img.deps = append(img.deps, deps[path])
	}
	return img, nil
}

// bufIsImport reads buf's ImageFileExtension.is_import from the unknown
// fields of a file: false when the file carries no extension (a
// FileDescriptorSet written by protoc).
func bufIsImport(f *descriptorpb.FileDescriptorProto) (imported bool) {
	b := f.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if num != bufExtensionField || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return false
			}
			b = b[n:]
			continue
		}
		ext, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		for len(ext) > 0 {
			enum, etyp, m := protowire.ConsumeTag(ext)
			if m < 0 {
				return imported
			}
			ext = ext[m:]
			if enum == bufIsImportField && etyp == protowire.VarintType {
				v, m := protowire.ConsumeVarint(ext)
				if m < 0 {
					return imported
				}
				imported = v != 0
				ext = ext[m:]
				continue
			}
			m = protowire.ConsumeFieldValue(enum, etyp, ext)
			if m < 0 {
				return imported
			}
			ext = ext[m:]
		}
	}
	return imported
}

// stripUnknown removes unknown fields (buf's image extension) from a message
// and every message it holds, so that the embedded descriptors are plain
// FileDescriptorProtos.
func stripUnknown(m protoreflect.Message) {
	m.SetUnknown(nil)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil {
			return true
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				stripUnknown(l.Get(i).Message())
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					stripUnknown(mv.Message())
					return true
				})
			}
		default:
			stripUnknown(v.Message())
		}
		return true
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
