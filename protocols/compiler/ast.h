// The syntax tree the parser builds: declarations as written, types still unresolved names.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocols/compiler/diagnostics.h"

namespace exo::protoc::ast {

using Doc = std::vector<std::string>;

struct Name {
  std::string text;
  Location location;
};

// A type as written: `u32`, `Parity`, `array<T, N>`, `bytes<N>`, `string<N>`, `optional<T>`,
// `handle<type, right | right>`.
struct TypeRef {
  enum class Kind { kNamed, kArray, kBytes, kString, kOptional, kHandle };
  Kind kind = Kind::kNamed;
  Location location;
  std::string name;                  // kNamed: the type name; kHandle: the object type
  std::unique_ptr<TypeRef> element;  // kArray, kOptional
  uint64_t count = 0;                // kArray: element count; kBytes/kString: bound
  Location count_location;
  std::vector<Name> rights;  // kHandle
};

struct Field {
  Doc doc;
  Name name;
  TypeRef type;
};

struct EnumMember {
  Doc doc;
  Name name;
  uint64_t magnitude = 0;
  bool negative = false;
  Location value_location;
};

struct Enum {
  Doc doc;
  Name name;
  Name underlying;
  std::vector<EnumMember> members;
};

struct Struct {
  Doc doc;
  Name name;
  std::vector<Field> fields;
};

struct Method {
  Doc doc;
  Name name;
  uint64_t ordinal = 0;
  Location ordinal_location;
  bool idempotent = false;
  bool is_call = true;
  std::vector<Field> params;
  std::vector<Field> results;  // calls only
  std::optional<Name> error;   // calls only
};

struct Protocol {
  Doc doc;
  Name name;
  std::optional<uint64_t> queue_capacity;
  Location queue_location;
  std::vector<Method> methods;
};

struct File {
  Doc doc;  // the doc comment on `package`
  Name package;
  std::vector<Enum> enums;
  std::vector<Struct> structs;
  std::vector<Protocol> protocols;
};

}  // namespace exo::protoc::ast
