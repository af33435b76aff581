// A small JSON reader for the benchmark runner: it reads what bench/python/*.py print
// and Google Benchmark's --benchmark_out files. Not a general-purpose library: numbers
// are doubles, and errors throw std::runtime_error naming the offset.
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bench::json {

struct Value;
using Object = std::map<std::string, Value, std::less<>>;
using Array = std::vector<Value>;

struct Value {
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>,
               std::shared_ptr<Object>>
      data = nullptr;

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(data); }
  bool is_number() const { return std::holds_alternative<double>(data); }
  bool is_string() const { return std::holds_alternative<std::string>(data); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(data); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(data); }

  double number() const {
    if (!is_number()) throw std::runtime_error("JSON: expected a number");
    return std::get<double>(data);
  }
  const std::string& string() const {
    if (!is_string()) throw std::runtime_error("JSON: expected a string");
    return std::get<std::string>(data);
  }
  const Array& array() const {
    if (!is_array()) throw std::runtime_error("JSON: expected an array");
    return *std::get<std::shared_ptr<Array>>(data);
  }
  const Object& object() const {
    if (!is_object()) throw std::runtime_error("JSON: expected an object");
    return *std::get<std::shared_ptr<Object>>(data);
  }
  // The member `key`, or null when this is not an object or has no such member.
  const Value& operator[](std::string_view key) const {
    static const Value null_value;
    if (!is_object()) return null_value;
    const auto& members = object();
    const auto it = members.find(key);
    return it == members.end() ? null_value : it->second;
  }
  double number_or(double fallback) const { return is_number() ? number() : fallback; }
  std::string string_or(std::string fallback) const {
    return is_string() ? string() : std::move(fallback);
  }
};

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Value parse() {
    Value v = value();
    ws();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(std::string("JSON: ") + what + " at offset " + std::to_string(i_));
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t'))
      ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail("unexpected character");
  }
  Value value() {
    ws();
    if (i_ >= s_.size()) fail("unexpected end");
    Value v;
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      auto object = std::make_shared<Object>();
      if (!eat('}')) {
        do {
          ws();
          std::string key = string();
          expect(':');
          (*object)[std::move(key)] = value();
        } while (eat(','));
        expect('}');
      }
      v.data = std::move(object);
    } else if (c == '[') {
      ++i_;
      auto array = std::make_shared<Array>();
      if (!eat(']')) {
        do array->push_back(value());
        while (eat(','));
        expect(']');
      }
      v.data = std::move(array);
    } else if (c == '"') {
      v.data = string();
    } else if (s_.substr(i_, 4) == "true") {
      i_ += 4, v.data = true;
    } else if (s_.substr(i_, 5) == "false") {
      i_ += 5, v.data = false;
    } else if (s_.substr(i_, 4) == "null") {
      i_ += 4;
    } else if (s_.substr(i_, 3) == "NaN") {  // Python's json writes these
      i_ += 3, v.data = 0.0;
    } else {
      const std::string rest(s_.substr(i_, 64));
      char* end = nullptr;
      const double d = std::strtod(rest.c_str(), &end);
      if (end == rest.c_str()) fail("bad value");
      i_ += static_cast<std::size_t>(end - rest.c_str());
      v.data = d;
    }
    return v;
  }
  std::string string() {
    if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string");
    ++i_;
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\' && i_ < s_.size()) {
        const char e = s_[i_++];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          case 'u': {
            const unsigned code = static_cast<unsigned>(
                std::strtoul(std::string(s_.substr(i_, 4)).c_str(), nullptr, 16));
            i_ += 4;
            c = code < 0x80 ? static_cast<char>(code) : '?';
            break;
          }
          default:
            c = e;
        }
      }
      out += c;
    }
    if (i_ >= s_.size()) fail("unterminated string");
    ++i_;
    return out;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

inline Value parse(std::string_view text) { return Parser(text).parse(); }

}  // namespace bench::json
