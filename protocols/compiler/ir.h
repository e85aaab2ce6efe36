// The checked intermediate form: resolved types with their wire layout, what the back end reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace exo::protoc::ir {

using Doc = std::vector<std::string>;

struct Enum;
struct Struct;

enum class IntKind { kU8, kU16, kU32, kU64, kI8, kI16, kI32, kI64 };

// Sizes saturate at kHugeSize so that absurd declarations cannot overflow the arithmetic.
inline constexpr uint64_t kHugeSize = uint64_t{1} << 48;

struct Type {
  enum class Kind { kInt, kBool, kEnum, kStruct, kArray, kBytes, kString, kOptional, kHandle };
  Kind kind = Kind::kInt;
  IntKind int_kind = IntKind::kU8;      // kInt
  const Enum* enum_type = nullptr;      // kEnum
  const Struct* struct_type = nullptr;  // kStruct
  std::unique_ptr<Type> element;        // kArray, kOptional
  uint64_t count = 0;                   // kArray: length; kBytes/kString: bound
  std::string object_type;              // kHandle: C++ enumerator name, e.g. "kVmo"
  std::vector<std::string> rights;      // kHandle: C++ constant names, e.g. "kRightRead"

  // Wire layout: bytes in the inline part, most bytes out of line, most handles.
  uint64_t inline_size = 0;
  uint64_t max_out_of_line = 0;
  uint64_t max_handles = 0;
};

struct Field {
  Doc doc;
  std::string name;
  Type type;
  uint64_t offset = 0;  // in the inline part of the enclosing struct
};

struct Struct {
  Doc doc;
  std::string name;  // C++ name, e.g. "LineConfig" or "WriteRequest"
  std::vector<Field> fields;
  uint64_t inline_size = 0;
  uint64_t max_size = 0;  // inline + out of line
  uint64_t max_handles = 0;
};

struct EnumMember {
  Doc doc;
  std::string name;      // as written
  std::string cpp_name;  // kCamelCase
  uint64_t magnitude = 0;
  bool negative = false;
};

struct Enum {
  Doc doc;
  std::string name;
  IntKind underlying = IntKind::kU32;
  std::vector<EnumMember> members;
};

struct Method {
  Doc doc;
  std::string name;
  std::string cpp_name;  // CamelCase, for WriteRequest and kWriteOrdinal
  uint32_t ordinal = 0;
  bool idempotent = false;
  bool is_call = true;
  Struct request;
  Struct response;  // calls only
  const Enum* error = nullptr;
};

struct Protocol {
  Doc doc;
  std::string name;
  uint32_t queue_capacity = 0;  // 0 when the protocol has no one-way methods and no queue
  std::vector<Method> methods;
  uint64_t max_send_bytes = 0;  // largest one-way body
};

struct Library {
  Doc doc;
  std::string package;                           // as written
  std::string cpp_namespace;                     // exo::protocols::<package>
  std::vector<std::unique_ptr<Enum>> enums;      // declaration order
  std::vector<std::unique_ptr<Struct>> structs;  // dependencies first
  std::vector<Protocol> protocols;
};

inline uint64_t int_size(IntKind kind) {
  switch (kind) {
    case IntKind::kU8:
    case IntKind::kI8:
      return 1;
    case IntKind::kU16:
    case IntKind::kI16:
      return 2;
    case IntKind::kU32:
    case IntKind::kI32:
      return 4;
    case IntKind::kU64:
    case IntKind::kI64:
      return 8;
  }
  return 8;
}
inline bool int_signed(IntKind kind) {
  return kind == IntKind::kI8 || kind == IntKind::kI16 || kind == IntKind::kI32 ||
         kind == IntKind::kI64;
}

}  // namespace exo::protoc::ir
