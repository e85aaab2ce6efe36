// Run-time interpretation of format strings for exo::format (see format.h for the syntax).
#include "kernel/lib/format.h"

namespace exo {
namespace {

struct Spec {
  char align = 0;  // 0 = natural (right for numbers, left for text), '<' or '>'
  bool alternate = false;
  char fill = ' ';
  usize width = 0;
  char type = 0;
};

void put(const FormatSink& sink, const char* text, usize length) {
  if (length != 0) sink.write(sink.context, text, length);
}

void put_fill(const FormatSink& sink, char fill, usize count) {
  char chunk[16];
  for (usize i = 0; i < sizeof(chunk); ++i) chunk[i] = fill;
  while (count > 0) {
    usize n = count < sizeof(chunk) ? count : sizeof(chunk);
    put(sink, chunk, n);
    count -= n;
  }
}

usize string_length(const char* s) {
  usize n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

// Writes `body` padded to the spec's width. Zero fill goes between the prefix and the digits.
void put_padded(const FormatSink& sink, const Spec& spec, const char* prefix, const char* body,
                usize body_length, bool numeric) {
  usize prefix_length = string_length(prefix);
  usize total = prefix_length + body_length;
  usize pad = spec.width > total ? spec.width - total : 0;
  char align = spec.align != 0 ? spec.align : (numeric ? '>' : '<');
  if (spec.fill == '0' && numeric && spec.align == 0) {
    put(sink, prefix, prefix_length);
    put_fill(sink, '0', pad);
    put(sink, body, body_length);
    return;
  }
  if (align == '>') put_fill(sink, ' ', pad);
  put(sink, prefix, prefix_length);
  put(sink, body, body_length);
  if (align == '<') put_fill(sink, ' ', pad);
}

void put_unsigned(const FormatSink& sink, const Spec& spec, uint64_t value, bool negative) {
  unsigned base = 10;
  const char* digits = "0123456789abcdef";
  const char* prefix = negative ? "-" : "";
  switch (spec.type) {
    case 'x': base = 16; if (spec.alternate) prefix = "0x"; break;
    case 'X': base = 16; digits = "0123456789ABCDEF"; if (spec.alternate) prefix = "0X"; break;
    case 'b': base = 2; if (spec.alternate) prefix = "0b"; break;
    case 'o': base = 8; if (spec.alternate) prefix = "0o"; break;
    default: break;
  }
  char buffer[64];
  usize pos = sizeof(buffer);
  do {
    buffer[--pos] = digits[value % base];
    value /= base;
  } while (value != 0);
  put_padded(sink, spec, prefix, buffer + pos, sizeof(buffer) - pos, true);
}

void put_arg(const FormatSink& sink, const Spec& spec, const FormatArg& arg) {
  switch (arg.kind) {
    case FormatArg::Kind::kSigned:
      if (spec.type == 'c') {
        char c = static_cast<char>(arg.i);
        put_padded(sink, spec, "", &c, 1, false);
      } else if (arg.i < 0 && (spec.type == 0 || spec.type == 'd')) {
        put_unsigned(sink, spec, 0 - static_cast<uint64_t>(arg.i), true);
      } else {
        put_unsigned(sink, spec, static_cast<uint64_t>(arg.i), false);
      }
      return;
    case FormatArg::Kind::kUnsigned:
      if (spec.type == 'c') {
        char c = static_cast<char>(arg.u);
        put_padded(sink, spec, "", &c, 1, false);
      } else {
        put_unsigned(sink, spec, arg.u, false);
      }
      return;
    case FormatArg::Kind::kString: {
      const char* s = arg.s != nullptr ? arg.s : "(null)";
      put_padded(sink, spec, "", s, string_length(s), false);
      return;
    }
    case FormatArg::Kind::kChar:
      if (spec.type != 0 && spec.type != 'c') {
        put_unsigned(sink, spec, static_cast<unsigned char>(arg.c), false);
      } else {
        put_padded(sink, spec, "", &arg.c, 1, false);
      }
      return;
    case FormatArg::Kind::kBool: {
      const char* s = arg.b ? "true" : "false";
      put_padded(sink, spec, "", s, string_length(s), false);
      return;
    }
    case FormatArg::Kind::kPointer: {
      Spec pointer_spec = spec;
      if (pointer_spec.type == 0 || pointer_spec.type == 'p') {
        pointer_spec.type = 'x';
        pointer_spec.alternate = true;
        if (pointer_spec.width == 0) {
          pointer_spec.width = 18;
          pointer_spec.fill = '0';
        }
      }
      put_unsigned(sink, pointer_spec, reinterpret_cast<uptr>(arg.p), false);
      return;
    }
    case FormatArg::Kind::kError: {
      const char* s = error_name(arg.e);
      put_padded(sink, spec, "", s, string_length(s), false);
      return;
    }
  }
}

// Parses the spec between ':' and '}'; returns false on anything malformed.
bool parse_spec(const char* begin, const char* end, Spec* spec) {
  const char* p = begin;
  if (p < end && (*p == '<' || *p == '>')) spec->align = *p++;
  if (p < end && *p == '#') {
    spec->alternate = true;
    ++p;
  }
  if (p < end && *p == '0') {
    spec->fill = '0';
    ++p;
  }
  while (p < end && *p >= '0' && *p <= '9') {
    if (spec->width > 1000) return false;
    spec->width = spec->width * 10 + static_cast<usize>(*p - '0');
    ++p;
  }
  if (p < end) {
    char t = *p++;
    if (t != 'd' && t != 'x' && t != 'X' && t != 'b' && t != 'o' && t != 'c' && t != 's' &&
        t != 'p') {
      return false;
    }
    spec->type = t;
  }
  return p == end;
}

}  // namespace

void vformat(const FormatSink& sink, const char* fmt, const FormatArg* args, usize arg_count) {
  static constexpr char kBad[] = "{?}";
  usize next = 0;
  const char* p = fmt;
  const char* literal = p;
  while (*p != '\0') {
    if (*p == '}' && p[1] == '}') {
      put(sink, literal, static_cast<usize>(p - literal) + 1);
      p += 2;
      literal = p;
      continue;
    }
    if (*p != '{') {
      ++p;
      continue;
    }
    put(sink, literal, static_cast<usize>(p - literal));
    if (p[1] == '{') {
      put(sink, "{", 1);
      p += 2;
      literal = p;
      continue;
    }
    const char* close = p + 1;
    while (*close != '\0' && *close != '}') ++close;
    if (*close == '\0') {
      put(sink, kBad, 3);
      return;
    }
    Spec spec;
    bool good = true;
    if (close > p + 1) good = p[1] == ':' && parse_spec(p + 2, close, &spec);
    if (good && next < arg_count) {
      put_arg(sink, spec, args[next]);
    } else {
      put(sink, kBad, 3);
    }
    ++next;
    p = close + 1;
    literal = p;
  }
  put(sink, literal, static_cast<usize>(p - literal));
}

void BufferSink::append(void* context, const char* text, usize length) {
  auto* self = static_cast<BufferSink*>(context);
  usize room = self->capacity_ - 1 - self->length_;
  usize n = length < room ? length : room;
  for (usize i = 0; i < n; ++i) self->buffer_[self->length_ + i] = text[i];
  self->length_ += n;
  self->dropped_ += length - n;
  self->buffer_[self->length_] = '\0';
}

}  // namespace exo
