// Lexer for .exo protocol files; a single forward pass that cannot fail to terminate.
#include "protocols/compiler/lexer.h"

namespace exo::protoc {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  Lexer(std::string_view source, Diagnostics& diagnostics)
      : source_(source), diagnostics_(diagnostics) {}

  std::vector<Token> run() {
    std::vector<Token> tokens;
    while (pos_ < source_.size()) {
      char c = source_[pos_];
      Location here{line_, column_};
      if (c == '\n' || c == ' ' || c == '\t' || c == '\r') {
        advance();
      } else if (c == '/' && peek(1) == '/') {
        bool doc = peek(2) == '/' && peek(3) != '/';
        size_t start = pos_ + (doc ? 3 : 2);
        while (pos_ < source_.size() && source_[pos_] != '\n') advance();
        if (doc) {
          std::string text(source_.substr(start, pos_ - start));
          if (!text.empty() && text[0] == ' ') text.erase(0, 1);
          while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.pop_back();
          tokens.push_back({TokenKind::kDocComment, text, here});
        }
      } else if (is_ident_start(c)) {
        size_t start = pos_;
        while (pos_ < source_.size() && is_ident_char(source_[pos_])) advance();
        tokens.push_back(
            {TokenKind::kIdentifier, std::string(source_.substr(start, pos_ - start)), here});
      } else if (is_digit(c) || (c == '-' && is_digit(peek(1)))) {
        tokens.push_back(integer(here));
      } else if (c == '-' && peek(1) == '>') {
        advance();
        advance();
        tokens.push_back({TokenKind::kPunct, "->", here});
      } else if (std::string_view("{}()<>;:,=@|").find(c) != std::string_view::npos) {
        advance();
        tokens.push_back({TokenKind::kPunct, std::string(1, c), here});
      } else {
        std::string shown = (c >= 0x20 && c < 0x7f) ? std::string("'") + c + "'"
                                                    : "byte " + std::to_string(uint8_t(c));
        diagnostics_.error(here, "unexpected character " + shown);
        advance();
      }
    }
    tokens.push_back({TokenKind::kEnd, "", Location{line_, column_}});
    return tokens;
  }

 private:
  char peek(size_t ahead) const {
    return pos_ + ahead < source_.size() ? source_[pos_ + ahead] : '\0';
  }
  void advance() {
    if (source_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }

  Token integer(Location here) {
    Token token{TokenKind::kInteger, "", here};
    size_t start = pos_;
    if (source_[pos_] == '-') {
      token.negative = true;
      advance();
    }
    bool overflow = false;
    uint64_t value = 0;
    if (source_[pos_] == '0' && (peek(1) == 'x' || peek(1) == 'X') && hex_value(peek(2)) >= 0) {
      advance();
      advance();
      while (pos_ < source_.size() && (hex_value(source_[pos_]) >= 0 || source_[pos_] == '_')) {
        if (source_[pos_] != '_') {
          if (value >> 60) overflow = true;
          value = value * 16 + uint64_t(hex_value(source_[pos_]));
        }
        advance();
      }
    } else {
      while (pos_ < source_.size() && (is_digit(source_[pos_]) || source_[pos_] == '_')) {
        if (source_[pos_] != '_') {
          uint64_t digit = uint64_t(source_[pos_] - '0');
          if (value > (UINT64_MAX - digit) / 10) overflow = true;
          value = value * 10 + digit;
        }
        advance();
      }
    }
    if (pos_ < source_.size() && is_ident_char(source_[pos_])) {
      while (pos_ < source_.size() && is_ident_char(source_[pos_])) advance();
      diagnostics_.error(
          here, "malformed integer '" + std::string(source_.substr(start, pos_ - start)) + "'");
    } else if (overflow) {
      diagnostics_.error(here, "integer '" + std::string(source_.substr(start, pos_ - start)) +
                                   "' does not fit in 64 bits");
    }
    token.text = std::string(source_.substr(start, pos_ - start));
    token.integer = value;
    return token;
  }

  std::string_view source_;
  Diagnostics& diagnostics_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

}  // namespace

std::vector<Token> lex(std::string_view source, Diagnostics& diagnostics) {
  return Lexer(source, diagnostics).run();
}

}  // namespace exo::protoc
