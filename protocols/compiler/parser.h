// Parser for .exo protocol files: tokens to ast::File, reporting the first syntax error.
#pragma once

#include <optional>
#include <string_view>

#include "protocols/compiler/ast.h"
#include "protocols/compiler/diagnostics.h"

namespace exo::protoc {

// Parses a whole file. Returns nothing (and at least one diagnostic) on a lexical or syntax
// error; parsing stops at the first syntax error so one typo does not cascade. Never crashes or
// loops on arbitrary input; type nesting is limited to kMaxTypeDepth.
std::optional<ast::File> parse(std::string_view source, Diagnostics& diagnostics);

inline constexpr int kMaxTypeDepth = 16;

}  // namespace exo::protoc
