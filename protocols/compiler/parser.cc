// Recursive-descent parser for .exo files (grammar in docs/protocols.md).
#include "protocols/compiler/parser.h"

#include <vector>

#include "protocols/compiler/lexer.h"

namespace exo::protoc {
namespace {

// Thrown only inside this file to unwind to parse() after the first syntax error.
struct SyntaxError {};

class Parser {
 public:
  Parser(std::vector<Token> tokens, Diagnostics& diagnostics)
      : tokens_(std::move(tokens)), diagnostics_(diagnostics) {}

  ast::File file() {
    ast::File file;
    file.doc = docs();
    expect_keyword("package");
    file.package = name("package name");
    expect(";");
    for (;;) {
      ast::Doc doc = docs();
      if (at_end()) {
        no_doc(doc);
        break;
      }
      if (is_keyword("enum")) {
        file.enums.push_back(enum_decl(std::move(doc)));
      } else if (is_keyword("struct")) {
        file.structs.push_back(struct_decl(std::move(doc)));
      } else if (is_keyword("protocol")) {
        file.protocols.push_back(protocol_decl(std::move(doc)));
      } else {
        fail("expected 'enum', 'struct' or 'protocol', found " + describe(peek()));
      }
    }
    return file;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  bool at_end() const { return peek().kind == TokenKind::kEnd; }
  Token take() {
    Token t = tokens_[pos_];
    if (t.kind != TokenKind::kEnd) ++pos_;
    return t;
  }
  bool is_punct(const char* p) const {
    return peek().kind == TokenKind::kPunct && peek().text == p;
  }
  bool is_keyword(const char* k) const {
    return peek().kind == TokenKind::kIdentifier && peek().text == k;
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::kEnd:
        return "end of file";
      case TokenKind::kDocComment:
        return "doc comment";
      case TokenKind::kInteger:
        return "integer '" + t.text + "'";
      case TokenKind::kIdentifier:
        return "'" + t.text + "'";
      case TokenKind::kPunct:
        return "'" + t.text + "'";
    }
    return "token";
  }

  [[noreturn]] void fail(const std::string& message) {
    diagnostics_.error(peek().location, message);
    throw SyntaxError{};
  }

  void expect(const char* p) {
    if (!is_punct(p)) fail(std::string("expected '") + p + "', found " + describe(peek()));
    take();
  }
  void expect_keyword(const char* k) {
    if (!is_keyword(k)) fail(std::string("expected '") + k + "', found " + describe(peek()));
    take();
  }
  ast::Name name(const char* what) {
    if (peek().kind != TokenKind::kIdentifier) {
      fail(std::string("expected ") + what + ", found " + describe(peek()));
    }
    Token t = take();
    return {t.text, t.location};
  }
  uint64_t unsigned_integer(const char* what, Location* location) {
    if (peek().kind != TokenKind::kInteger || peek().negative) {
      fail(std::string("expected ") + what + " (a non-negative integer), found " +
           describe(peek()));
    }
    Token t = take();
    if (location != nullptr) *location = t.location;
    return t.integer;
  }
  ast::Doc docs() {
    ast::Doc doc;
    doc_location_ = peek().location;
    while (peek().kind == TokenKind::kDocComment) doc.push_back(take().text);
    return doc;
  }
  // A doc comment is only allowed before something it documents.
  void no_doc(const ast::Doc& doc) {
    if (!doc.empty()) {
      diagnostics_.error(doc_location_, "doc comment is not followed by a declaration");
      throw SyntaxError{};
    }
  }

  ast::Enum enum_decl(ast::Doc doc) {
    take();
    ast::Enum e;
    e.doc = std::move(doc);
    e.name = name("enum name");
    expect(":");
    e.underlying = name("underlying integer type");
    expect("{");
    for (;;) {
      ast::Doc member_doc = docs();
      if (is_punct("}")) {
        no_doc(member_doc);
        break;
      }
      ast::EnumMember m;
      m.doc = std::move(member_doc);
      m.name = name("enum member name");
      expect("=");
      if (peek().kind != TokenKind::kInteger)
        fail("expected integer value, found " + describe(peek()));
      Token v = take();
      m.magnitude = v.integer;
      m.negative = v.negative;
      m.value_location = v.location;
      expect(";");
      e.members.push_back(std::move(m));
    }
    expect("}");
    return e;
  }

  ast::TypeRef type(int depth) {
    if (depth > kMaxTypeDepth) fail("type is nested too deeply");
    ast::TypeRef t;
    t.location = peek().location;
    ast::Name n = name("type");
    if (n.text == "array" && is_punct("<")) {
      take();
      t.kind = ast::TypeRef::Kind::kArray;
      t.element = std::make_unique<ast::TypeRef>(type(depth + 1));
      expect(",");
      t.count = unsigned_integer("array length", &t.count_location);
      expect(">");
    } else if ((n.text == "bytes" || n.text == "string") && is_punct("<")) {
      take();
      t.kind = n.text == "bytes" ? ast::TypeRef::Kind::kBytes : ast::TypeRef::Kind::kString;
      t.count = unsigned_integer("length bound", &t.count_location);
      expect(">");
    } else if (n.text == "optional" && is_punct("<")) {
      take();
      t.kind = ast::TypeRef::Kind::kOptional;
      t.element = std::make_unique<ast::TypeRef>(type(depth + 1));
      expect(">");
    } else if (n.text == "handle" && is_punct("<")) {
      take();
      t.kind = ast::TypeRef::Kind::kHandle;
      t.name = name("handle object type").text;
      if (is_punct(",")) {
        take();
        t.rights.push_back(name("right"));
        while (is_punct("|")) {
          take();
          t.rights.push_back(name("right"));
        }
      }
      expect(">");
    } else if (n.text == "array" || n.text == "bytes" || n.text == "string" ||
               n.text == "optional") {
      fail("expected '<' after '" + n.text + "', found " + describe(peek()));
    } else {
      t.kind = ast::TypeRef::Kind::kNamed;
      t.name = n.text;
    }
    return t;
  }

  ast::Field field(ast::Doc doc) {
    ast::Field f;
    f.doc = std::move(doc);
    f.name = name("field name");
    expect(":");
    f.type = type(0);
    return f;
  }

  ast::Struct struct_decl(ast::Doc doc) {
    take();
    ast::Struct s;
    s.doc = std::move(doc);
    s.name = name("struct name");
    expect("{");
    for (;;) {
      ast::Doc field_doc = docs();
      if (is_punct("}")) {
        no_doc(field_doc);
        break;
      }
      s.fields.push_back(field(std::move(field_doc)));
      expect(";");
    }
    expect("}");
    return s;
  }

  std::vector<ast::Field> parameter_list() {
    std::vector<ast::Field> fields;
    expect("(");
    for (;;) {
      ast::Doc doc = docs();
      if (is_punct(")")) {
        no_doc(doc);
        break;
      }
      fields.push_back(field(std::move(doc)));
      if (!is_punct(",")) break;
      take();
    }
    expect(")");
    return fields;
  }

  ast::Method method(ast::Doc doc) {
    ast::Method m;
    m.doc = std::move(doc);
    expect("@");
    m.ordinal = unsigned_integer("method ordinal", &m.ordinal_location);
    if (is_keyword("idempotent")) {
      take();
      m.idempotent = true;
    }
    if (is_keyword("call")) {
      m.is_call = true;
    } else if (is_keyword("send")) {
      m.is_call = false;
    } else {
      fail("expected 'call' or 'send', found " + describe(peek()));
    }
    take();
    m.name = name("method name");
    m.params = parameter_list();
    if (m.is_call) {
      expect("->");
      m.results = parameter_list();
      if (is_keyword("error")) {
        take();
        m.error = name("error type");
      }
    } else if (is_punct("->")) {
      fail("a one-way 'send' has no response");
    }
    expect(";");
    return m;
  }

  ast::Protocol protocol_decl(ast::Doc doc) {
    take();
    ast::Protocol p;
    p.doc = std::move(doc);
    p.name = name("protocol name");
    expect("{");
    for (;;) {
      ast::Doc member_doc = docs();
      if (is_punct("}")) {
        no_doc(member_doc);
        break;
      }
      if (is_keyword("queue")) {
        no_doc(member_doc);
        Location at = peek().location;
        take();
        if (p.queue_capacity) {
          diagnostics_.error(at, "protocol '" + p.name.text + "' declares its queue twice");
        }
        p.queue_capacity = unsigned_integer("queue capacity", &p.queue_location);
        expect(";");
      } else {
        p.methods.push_back(method(std::move(member_doc)));
      }
    }
    expect("}");
    return p;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  Location doc_location_;  // of the doc comment docs() last collected
  Diagnostics& diagnostics_;
};

}  // namespace

std::optional<ast::File> parse(std::string_view source, Diagnostics& diagnostics) {
  std::vector<Token> tokens = lex(source, diagnostics);
  if (!diagnostics.empty()) return std::nullopt;
  try {
    ast::File file = Parser(std::move(tokens), diagnostics).file();
    if (!diagnostics.empty()) return std::nullopt;
    return file;
  } catch (const SyntaxError&) {
    return std::nullopt;
  }
}

}  // namespace exo::protoc
