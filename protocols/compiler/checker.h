// Semantic checks that turn a parsed ast::File into ir::Library, with every error reported.
#pragma once

#include <memory>

#include "protocols/compiler/ast.h"
#include "protocols/compiler/diagnostics.h"
#include "protocols/compiler/ir.h"

namespace exo::protoc {

// Resolves names, computes the wire layout and checks every rule in docs/protocols.md: unknown
// or misused types, duplicate names, ordinals and enum values, struct cycles, bounds a message
// cannot fit, handles in one-way messages, queue declarations. Returns nullptr when any error
// was reported.
std::unique_ptr<ir::Library> check(const ast::File& file, Diagnostics& diagnostics);

// parse() then check(): the whole front end.
std::unique_ptr<ir::Library> compile_front_end(std::string_view source, Diagnostics& diagnostics);

}  // namespace exo::protoc
