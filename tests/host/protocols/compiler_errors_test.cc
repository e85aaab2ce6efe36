// Tests of exo-protoc's error messages: one case per rule, checked to the column.
#include <string>

#include <gtest/gtest.h>

#include "protocols/compiler/checker.h"

namespace exo::protoc {
namespace {

struct ErrorCase {
  const char* name;
  const char* source;
  const char* expected;  // the whole formatted diagnostic list for a file named test.exo
};

const ErrorCase kCases[] = {
    {"unexpected_char", "package p; $", "test.exo:1:12: error: unexpected character '$'\n"},
    {"int_too_big", "package p; enum E : u8 { a = 99999999999999999999; }",
     "test.exo:1:30: error: integer '99999999999999999999' does not fit in 64 bits\n"},
    {"malformed_int", "package p; enum E : u8 { a = 12abc; }",
     "test.exo:1:30: error: malformed integer '12abc'\n"},
    {"missing_package", "enum E : u8 { a = 1; }",
     "test.exo:1:1: error: expected 'package', found 'enum'\n"},
    {"missing_semicolon", "package p\nstruct S {}",
     "test.exo:2:1: error: expected ';', found 'struct'\n"},
    {"bad_decl", "package p; union U {}",
     "test.exo:1:12: error: expected 'enum', 'struct' or 'protocol', found 'union'\n"},
    {"unknown_type", "package p; struct S { a: Foo; }",
     "test.exo:1:26: error: unknown type 'Foo'\n"},
    {"duplicate_decl", "package p; struct S { }\nenum S : u8 { a = 1; }",
     "test.exo:2:6: error: 'S' is already declared at 1:19\n"},
    {"duplicate_field", "package p; struct S { a: u8; a: u16; }",
     "test.exo:1:30: error: field 'a' of struct 'S' is already declared at 1:23\n"},
    {"duplicate_member", "package p; enum E : u8 { a = 1; a = 2; }",
     "test.exo:1:33: error: enum member 'a' is already declared at 1:26\n"},
    {"duplicate_value", "package p; enum E : u8 { a = 1; b = 1; }",
     "test.exo:1:37: error: enum 'E' gives 'b' the same value as 'a'\n"},
    {"value_range", "package p; enum E : u8 { a = 256; }",
     "test.exo:1:30: error: value of 'a' does not fit in u8\n"},
    {"value_negative_unsigned", "package p; enum E : u32 { a = -1; }",
     "test.exo:1:31: error: value of 'a' does not fit in u32\n"},
    {"value_range_signed", "package p; enum E : i8 { a = -129; }",
     "test.exo:1:30: error: value of 'a' does not fit in i8\n"},
    {"enum_underlying", "package p; enum E : bool { a = 1; }",
     "test.exo:1:21: error: enum 'E' must have an integer underlying type, not 'bool'\n"},
    {"empty_enum", "package p; enum E : u8 { }", "test.exo:1:17: error: enum 'E' has no members\n"},
    {"cycle_direct", "package p; struct A { a: A; }",
     "test.exo:1:19: error: struct 'A' contains itself and would be infinitely large: A -> A\n"},
    {"cycle_indirect", "package p; struct A { b: B; }\nstruct B { c: array<optional<A>, 2>; }",
     "test.exo:1:19: error: struct 'A' contains itself and would be infinitely large: A -> B -> "
     "A\n"},
    {"duplicate_ordinal", "package p; protocol P { @1 call a() -> (); @1 call b() -> (); }",
     "test.exo:1:45: error: ordinal 1 of 'b' is already used by 'a'\n"},
    {"zero_ordinal", "package p; protocol P { @0 call a() -> (); }",
     "test.exo:1:26: error: ordinal of 'a' must be between 1 and 4294967295\n"},
    {"big_ordinal", "package p; protocol P { @4294967296 call a() -> (); }",
     "test.exo:1:26: error: ordinal of 'a' must be between 1 and 4294967295\n"},
    {"duplicate_method", "package p; protocol P { @1 call a() -> (); @2 call a() -> (); }",
     "test.exo:1:52: error: method 'a' is already declared at 1:33\n"},
    {"message_too_big", "package p; protocol P { @1 call a(x: bytes<4096>, y: bytes<100>) -> (); }",
     "test.exo:1:33: error: request of 'a' may take 4200 bytes, more than the 4144 a message can "
     "carry\n"},
    {"response_too_big", "package p; protocol P { @1 call a() -> (x: array<u64, 600>); }",
     "test.exo:1:33: error: response of 'a' may take 4800 bytes, more than the 4144 a message can "
     "carry\n"},
    {"struct_too_big", "package p; struct S { a: array<array<u64, 100000>, 100000>; }",
     "test.exo:1:19: error: struct 'S' may take 80000000000 bytes, more than the 4144 a message "
     "can carry\n"},
    {"too_many_handles", "package p; protocol P { @1 call a(h: array<handle<vmo>, 5>) -> (); }",
     "test.exo:1:33: error: request of 'a' may carry 5 handles, more than the 4 a message can "
     "carry\n"},
    {"handle_in_send", "package p; protocol P { queue 4; @1 send a(h: handle<vmo>); }",
     "test.exo:1:42: error: one-way method 'a' cannot carry handles: sends travel through shared "
     "memory; make it a call\n"},
    {"send_without_queue", "package p; protocol P { @1 send a(); }",
     "test.exo:1:21: error: protocol 'P' has one-way methods but declares no 'queue N;'\n"},
    {"queue_not_pow2", "package p; protocol P { queue 3; }",
     "test.exo:1:31: error: queue capacity must be a power of two between 2 and 65536\n"},
    {"queue_twice", "package p; protocol P { queue 4; queue 8; }",
     "test.exo:1:34: error: protocol 'P' declares its queue twice\n"},
    {"error_not_enum", "package p; struct S {} protocol P { @1 call a() -> () error S; }",
     "test.exo:1:61: error: error type 'S' is not an enum\n"},
    {"error_unknown", "package p; protocol P { @1 call a() -> () error Nope; }",
     "test.exo:1:49: error: unknown type 'Nope'\n"},
    {"protocol_as_type", "package p; protocol P { } struct S { p: P; }",
     "test.exo:1:41: error: 'P' is a protocol, not a type (pass a handle<channel>)\n"},
    {"unknown_object", "package p; struct S { h: handle<socket>; }",
     "test.exo:1:26: error: unknown handle object type 'socket' (one of address_space, any, "
     "channel, endpoint, interrupt, io_ports, notification, process, thread, vmo)\n"},
    {"unknown_right", "package p; struct S { h: handle<vmo, read | fly>; }",
     "test.exo:1:45: error: unknown right 'fly' (one of ack, duplicate, execute, map, read, "
     "signal, transfer, wait, write)\n"},
    {"bare_handle", "package p; struct S { h: handle; }",
     "test.exo:1:26: error: handle needs an object type: handle<vmo, read | write>\n"},
    {"array_zero", "package p; struct S { a: array<u8, 0>; }",
     "test.exo:1:36: error: array length must be at least 1\n"},
    {"bound_zero", "package p; struct S { a: bytes<0>; }",
     "test.exo:1:32: error: length bound must be at least 1\n"},
    {"bound_too_big", "package p; struct S { a: string<5000>; }",
     "test.exo:1:33: error: length bound 5000 is larger than a message body (4144 bytes)\n"},
    {"type_not_camel", "package p; struct my_struct { }",
     "test.exo:1:19: error: type name 'my_struct' must be CamelCase\n"},
    {"field_not_snake", "package p; struct S { FieldName: u8; }",
     "test.exo:1:23: error: field 'FieldName' must be snake_case (lower-case letters, digits, "
     "single '_')\n"},
    {"keyword", "package p; struct S { class: u8; }",
     "test.exo:1:23: error: field 'class' is reserved in C++\n"},
    {"generated_clash", "package p; protocol Foo { } struct FooClient { }",
     "test.exo:1:36: error: 'FooClient' clashes with a name generated for a protocol\n"},
    {"too_deep",
     "package p; struct S { a: "
     "optional<optional<optional<optional<optional<optional<optional<optional<optional<optional<"
     "optional<optional<optional<optional<optional<optional<optional<optional<optional<optional<u8>"
     ">>>>>>>>>>>>>>>>>>>; }",
     "test.exo:1:179: error: type is nested too deeply\n"},
    {"dangling_doc", "package p; struct S { a: u8; /// nothing\n }",
     "test.exo:1:30: error: doc comment is not followed by a declaration\n"},
    {"send_response", "package p; protocol P { queue 2; @1 send a() -> (); }",
     "test.exo:1:46: error: a one-way 'send' has no response\n"},
    {"missing_arrow", "package p; protocol P { @1 call a() ; }",
     "test.exo:1:37: error: expected '->', found ';'\n"},
    {"bad_package", "package Pkg;",
     "test.exo:1:9: error: package name 'Pkg' must be snake_case (lower-case letters, digits, "
     "single '_')\n"},
    {"reserved_parameter", "package p; protocol P { @1 call a(response: u8) -> (); }",
     "test.exo:1:35: error: parameter name 'response' is reserved for the generated client and "
     "server\n"},
};

class CompilerErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(CompilerErrors, ReportsFileLineColumnAndNoLibrary) {
  const ErrorCase& c = GetParam();
  Diagnostics diagnostics("test.exo");
  auto library = compile_front_end(c.source, diagnostics);
  EXPECT_EQ(library, nullptr);
  EXPECT_FALSE(diagnostics.empty());
  EXPECT_EQ(diagnostics.format(), c.expected);
}

INSTANTIATE_TEST_SUITE_P(AllRules, CompilerErrors, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(CompilerErrors, ReportsEveryIndependentMistake) {
  Diagnostics diagnostics("test.exo");
  auto library = compile_front_end(
      "package p;\n"
      "struct S { a: Nope; b: u8; b: u8; }\n"
      "enum E : u8 { x = 1; y = 1; }\n",
      diagnostics);
  EXPECT_EQ(library, nullptr);
  EXPECT_EQ(diagnostics.format(),
            "test.exo:2:15: error: unknown type 'Nope'\n"
            "test.exo:2:28: error: field 'b' of struct 'S' is already declared at 2:21\n"
            "test.exo:3:26: error: enum 'E' gives 'y' the same value as 'x'\n");
}

TEST(CompilerErrors, AcceptsTheLimits) {
  Diagnostics diagnostics("test.exo");
  auto library = compile_front_end(
      "package p;\n"
      "enum E : i8 { low = -128; high = 127; }\n"
      "enum U : u64 { top = 0xffffffffffffffff; }\n"
      "protocol P {\n"
      "  queue 65536;\n"
      "  @4294967295 call a(x: bytes<4096>, y: array<u8, 46>) -> (h: array<handle<vmo>, 4>);\n"
      "  @1 send b(x: bytes<4142>);\n"
      "}\n",
      diagnostics);
  EXPECT_NE(library, nullptr) << diagnostics.format();
}

}  // namespace
}  // namespace exo::protoc
