// Lexer for .exo protocol files: identifiers, integers, punctuation and /// doc comments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/compiler/diagnostics.h"

namespace exo::protoc {

enum class TokenKind {
  kIdentifier,
  kInteger,     // decimal or 0x hex, optionally preceded by '-'; value in `integer`
  kDocComment,  // one "///" line; `text` is what follows the slashes, one leading space removed
  kPunct,       // one of { } ( ) < > ; : , = @ | and the two-character "->"
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  Location location;
  uint64_t integer = 0;   // magnitude
  bool negative = false;  // for a '-' literal
};

// Splits `source` into tokens, ending with one kEnd. Lexical errors (stray characters,
// integers too large for 64 bits) go to `diagnostics`; the offending text is skipped.
std::vector<Token> lex(std::string_view source, Diagnostics& diagnostics);

}  // namespace exo::protoc
